// "Copy the signature": rich HTML and its plain-text twin to the clipboard, so a mail program pastes it styled.
const button = document.querySelector('[data-signature-copy]')

function fragment (documentText) {
  const doc = new DOMParser().parseFromString(documentText, 'text/html')
  return doc.body.innerHTML.trim()
}

if (button) {
  const status = document.getElementById(button.dataset.status)
  button.addEventListener('click', async () => {
    const text = document.getElementById(button.dataset.text).textContent
    // Safari wants the ClipboardItem made during the click: its content may arrive later, as a promise.
    const html = fetch(button.dataset.source, { credentials: 'same-origin' })
      .then((response) => {
        if (!response.ok) throw new Error(String(response.status))
        return response.text()
      })
      .then((body) => new Blob([fragment(body)], { type: 'text/html' }))
    try {
      await navigator.clipboard.write([
        new ClipboardItem({ 'text/html': html, 'text/plain': new Blob([text], { type: 'text/plain' }) })
      ])
      status.textContent = button.dataset.done
    } catch {
      status.textContent = button.dataset.failed
    }
  })
}
