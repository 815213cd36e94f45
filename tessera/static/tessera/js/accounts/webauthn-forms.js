// Wires the passkey buttons of the sign-in, two-step and key management pages; no inline script needed.
//   data-passkey-login="<form id>"    fetch a challenge from the form's action, then post the assertion
//   data-webauthn-get="<json id>"     answer the challenge embedded with json_script
//   data-webauthn-create="<json id>"  register a new key (data-webauthn-passwordless: the checkbox id)
// data-webauthn-credential names the hidden input that carries the result; data-webauthn-error the notice.
import { createCredential, getCredential, supported } from './webauthn.js'

function readJSON(id) {
  return JSON.parse(document.getElementById(id).textContent)
}

function showError(button, unsupported = false) {
  const notice = document.getElementById(button.dataset.webauthnError || 'passkey_login_error')
  if (!notice) return
  if (unsupported && notice.dataset.unsupported) notice.textContent = notice.dataset.unsupported
  notice.hidden = false
}

function wire(button, ceremony) {
  if (!supported()) {
    button.disabled = true
    showError(button, true)
    return
  }
  button.addEventListener('click', async (event) => {
    event.preventDefault()
    button.disabled = true
    try {
      const { form, input, credential } = await ceremony()
      input.value = JSON.stringify(credential)
      form.submit()
    } catch (error) {
      console.warn('WebAuthn ceremony failed', error)
      showError(button)
      button.disabled = false
    }
  })
}

for (const button of document.querySelectorAll('[data-passkey-login]')) {
  wire(button, async () => {
    const form = document.getElementById(button.dataset.passkeyLogin)
    const response = await fetch(form.action, { headers: { Accept: 'application/json' }, credentials: 'same-origin' })
    if (!response.ok) throw new Error(`passkey challenge: HTTP ${response.status}`)
    const data = await response.json()
    const credential = await getCredential(data.request_options)
    return { form, input: form.elements.credential, credential }
  })
}

for (const button of document.querySelectorAll('[data-webauthn-get]')) {
  wire(button, async () => {
    const input = document.getElementById(button.dataset.webauthnCredential)
    const credential = await getCredential(readJSON(button.dataset.webauthnGet).request_options)
    return { form: input.form, input, credential }
  })
}

for (const button of document.querySelectorAll('[data-webauthn-create]')) {
  wire(button, async () => {
    const input = document.getElementById(button.dataset.webauthnCredential)
    const checkbox = button.dataset.webauthnPasswordless && document.getElementById(button.dataset.webauthnPasswordless)
    const passwordless = checkbox ? checkbox.checked : undefined
    const credential = await createCredential(readJSON(button.dataset.webauthnCreate).creation_options, passwordless)
    return { form: input.form, input, credential }
  })
}
