// "Copy" buttons: data-copy names the element whose text (one line per item) goes to the clipboard.
for (const button of document.querySelectorAll('[data-copy]')) {
  button.addEventListener('click', async () => {
    const source = document.getElementById(button.dataset.copy)
    const text = [...source.querySelectorAll('li')].map((item) => item.textContent.trim()).join('\n') || source.textContent
    try {
      await navigator.clipboard.writeText(text)
      if (button.dataset.copied) button.textContent = button.dataset.copied
    } catch {
      window.getSelection().selectAllChildren(source)
    }
  })
}
