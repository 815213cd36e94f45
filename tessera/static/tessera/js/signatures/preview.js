// Live preview of a signature template: each edit is rendered by the server into three frames
// (Gmail width, Outlook width, dark mode), as a form posted to each frame; nothing runs inside them.
import { fit } from './frames.js'

const source = document.getElementById('signature-form')
const preview = document.getElementById('preview-form')
const frames = [...document.querySelectorAll('.sig-previews iframe')]
const DELAY = 400

function render () {
  preview.elements.html.value = source.elements.html.value
  preview.elements.inline_logo.value = source.elements.inline_logo.checked ? 'on' : ''
  for (const frame of frames) {
    preview.elements.mode.value = frame.dataset.mode
    preview.target = frame.name
    preview.submit()
  }
}

if (source && preview) {
  let timer
  const later = () => {
    clearTimeout(timer)
    timer = setTimeout(render, DELAY)
  }
  source.elements.html.addEventListener('input', later)
  source.elements.inline_logo.addEventListener('change', render)
  document.getElementById('preview-member').addEventListener('change', render)
  const button = source.querySelector('[data-preview-button]')
  button?.addEventListener('click', (event) => {
    event.preventDefault()
    render()
  })
  render()
}
