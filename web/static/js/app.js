// The dashboard's only script of its own, served as a file (the Content Security
// Policy allows no inline script). Every page works without it: it starts the NHS.UK
// design system's components (header menu, skip link focus, error summary focus).
import { initAll } from '/static/vendor/nhsuk-frontend-10.6.1/nhsuk-frontend-10.6.1.min.js'

document.body.classList.add('js-enabled', 'nhsuk-frontend-supported')
initAll()

// The session ends after a while with no request (its idle limit, on <body>): warn
// before then, with time to stay signed in (WCAG 2.2.1), which asks the server to keep
// the session; pressing Escape stays signed in too. Before warning, and before saying
// the user was signed out, the page asks the server how long the session has left
// (GET /session/status, which does not keep it): another page may have kept it going.
// When the session's absolute limit is what ends it ("final"), staying signed in cannot
// help: the warning says so and offers only to close it, so the user can send what the
// page holds. Without script the limits hold as before, unwarned.
const idle = Number(document.body.dataset.sessionIdle)
const dialog = document.getElementById('session-timeout')
if (idle > 0 && dialog && typeof dialog.showModal === 'function') {
  const lead = Math.min(120, idle / 2) // seconds of warning
  const left = document.getElementById('session-timeout-left')
  const extend = document.getElementById('session-extend')
  const signIn = document.getElementById('session-sign-in')
  let timer
  let final = false
  const heading = document.getElementById('session-timeout-heading')
  const text = document.getElementById('session-timeout-text')
  const plural = (n, unit) => `${n} ${unit}${n === 1 ? '' : 's'}`
  const words = (s) => s >= 60 ? plural(Math.round(s / 60), 'minute') : plural(Math.round(s), 'second')
  // secondsLeft is the session's time left as the server counts it, or -1 when it has
  // ended (or the server cannot say); it notes whether that end is final.
  const secondsLeft = async () => {
    const r = await fetch('/session/status', { credentials: 'same-origin', cache: 'no-store' }).catch(() => null)
    if (!r || r.status !== 200) return -1
    const body = await r.json().catch(() => null)
    if (!body || typeof body.seconds_left !== 'number') return -1
    final = body.final === true
    return body.seconds_left
  }
  const expired = () => {
    clearTimeout(timer)
    heading.textContent = 'You have been signed out'
    text.textContent = final
      ? 'Your session reached its time limit, so for your security you were signed out. Sign in again to carry on.'
      : 'You had not opened a page for a while, so for your security you were signed out. Sign in again to carry on.'
    extend.hidden = true
    signIn.hidden = false
    signIn.href = '/sign-in?next=' + encodeURIComponent(location.pathname + location.search)
    if (!dialog.open) dialog.showModal()
    signIn.focus()
  }
  // check runs when the warning or the end is due by this page's count, and acts on
  // the server's.
  const check = async () => {
    const s = await secondsLeft()
    if (s <= 0) {
      expired()
    } else if (s > lead + 1) {
      if (dialog.open) dialog.close() // kept going elsewhere
      schedule(s)
    } else {
      if (final) {
        heading.textContent = 'Your session will end soon'
        text.textContent = `For your security a session has a time limit, and yours ends in ${words(s)} however you use the dashboard. Send anything on this page now; then sign in again to carry on.`
        extend.textContent = 'Close'
      } else {
        left.textContent = words(s)
      }
      if (!dialog.open) dialog.showModal()
      timer = setTimeout(check, s * 1000 + 500)
    }
  }
  const schedule = (s) => {
    clearTimeout(timer)
    timer = setTimeout(check, Math.max(0, s - lead) * 1000)
  }
  const stay = async () => {
    if (final) {
      dialog.close() // the end cannot be put off: check says so again at the end
      return
    }
    const r = await fetch('/session/extend', { method: 'POST', credentials: 'same-origin' }).catch(() => null)
    if (r && r.status === 204) {
      dialog.close()
      schedule(idle)
    } else {
      expired()
    }
  }
  extend.addEventListener('click', stay)
  dialog.addEventListener('cancel', (e) => {
    e.preventDefault()
    if (!extend.hidden) stay()
  })
  schedule(idle)
}
