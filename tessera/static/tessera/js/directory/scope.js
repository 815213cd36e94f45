// The Entra ID settings form: show the groups or the domains only when the scope chosen uses them.
// Without this script both stay visible, and the server ignores the one the scope does not use.
const form = document.querySelector('[data-scope]')?.closest('form')

function show () {
  const chosen = form.querySelector('[data-scope] input:checked')?.value
  for (const part of form.querySelectorAll('[data-scope-for]')) {
    part.classList.toggle('hidden', part.dataset.scopeFor !== chosen)
  }
}

if (form) {
  form.addEventListener('change', (event) => {
    if (event.target.closest('[data-scope]')) show()
  })
  show()
}
