// The dashboard's only script of its own, served as a file (the Content Security
// Policy allows no inline script). Every page works without it: it starts the NHS.UK
// design system's components (header menu, skip link focus, error summary focus).
import { initAll } from '/static/vendor/nhsuk-frontend-10.6.1/nhsuk-frontend-10.6.1.min.js'

document.body.classList.add('js-enabled', 'nhsuk-frontend-supported')
initAll()
