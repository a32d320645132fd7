// The dashboard's only script of its own, served as a file (the Content Security
// Policy allows no inline script). Every page works without it: it starts the NHS.UK
// design system's components (header menu, skip link focus, error summary focus).
import { initAll } from '/static/vendor/nhsuk-frontend-10.6.1/nhsuk-frontend-10.6.1.min.js'

document.body.classList.add('js-enabled', 'nhsuk-frontend-supported')
initAll()

// The session ends after a while with no request (its idle limit, on <body>): warn
// before then, with time to stay signed in (WCAG 2.2.1), which asks the server to keep
// the session; pressing Escape stays signed in too. Without script the limit holds
// as before, unwarned.
const idle = Number(document.body.dataset.sessionIdle)
const dialog = document.getElementById('session-timeout')
if (idle > 0 && dialog && typeof dialog.showModal === 'function') {
  const lead = Math.min(120, idle / 2) // seconds of warning
  const left = document.getElementById('session-timeout-left')
  const extend = document.getElementById('session-extend')
  const signIn = document.getElementById('session-sign-in')
  let timers = []
  const words = (s) => s >= 60 ? `${Math.round(s / 60)} minute${Math.round(s / 60) === 1 ? '' : 's'}` : `${Math.round(s)} seconds`
  const expired = () => {
    timers.forEach(clearTimeout)
    document.getElementById('session-timeout-heading').textContent = 'You have been signed out'
    document.getElementById('session-timeout-text').textContent = 'You had not opened a page for a while, so for your security you were signed out. Sign in again to carry on.'
    extend.hidden = true
    signIn.hidden = false
    signIn.href = '/sign-in?next=' + encodeURIComponent(location.pathname + location.search)
    if (!dialog.open) dialog.showModal()
    signIn.focus()
  }
  const schedule = () => {
    timers.forEach(clearTimeout)
    timers = [
      setTimeout(() => { left.textContent = words(lead); dialog.showModal() }, (idle - lead) * 1000),
      setTimeout(expired, idle * 1000)
    ]
  }
  const stay = async () => {
    const r = await fetch('/session/extend', { method: 'POST', credentials: 'same-origin' }).catch(() => null)
    if (r && r.status === 204) {
      dialog.close()
      schedule()
    } else {
      expired()
    }
  }
  extend.addEventListener('click', stay)
  dialog.addEventListener('cancel', (e) => {
    e.preventDefault()
    if (!extend.hidden) stay()
  })
  schedule()
}
