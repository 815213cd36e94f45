// The progress bar of a push to Gmail: poll the run's JSON status each second while it is queued or running.
// Without this script the bar shows the state at page load, and the link beside it reloads the page.
const POLL_MS = 1000
const GIVE_UP_AFTER = 10 // failed polls in a row (offline, signed out) before the bar stops following

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

function capitalise (text) {
  return text ? text[0].toUpperCase() + text.slice(1) : text
}

export function apply (box, status) {
  const bar = box.querySelector('progress')
  bar.value = status.percent
  bar.textContent = `${status.percent} %`
  box.querySelector('[data-run-label]').textContent = capitalise(status.status_label)
  box.querySelector('[data-run-figures]').textContent = status.figures
  const message = box.querySelector('[data-run-message]')
  message.textContent = status.message
  message.hidden = !status.message
  box.dataset.status = status.status
  box.dataset.active = String(status.active)
}

async function poll (url) {
  const response = await fetch(url, { headers: { Accept: 'application/json' }, cache: 'no-store', credentials: 'same-origin' })
  if (!response.ok) throw new Error(`status ${response.status}`)
  return response.json()
}

// Once the run is over, the results table and the cancel button are fetched again and swapped in.
async function refreshResults () {
  const response = await fetch(window.location.href, { cache: 'no-store', credentials: 'same-origin' })
  if (!response.ok) return
  const fresh = new DOMParser().parseFromString(await response.text(), 'text/html')
  for (const part of document.querySelectorAll('[data-run-results]')) {
    const replacement = fresh.getElementById(part.id)
    if (replacement) part.replaceWith(replacement)
  }
  for (const form of document.querySelectorAll('[data-run-cancel]')) form.remove()
}

async function follow (box) {
  const refresh = box.querySelector('[data-run-refresh]')
  if (refresh) refresh.hidden = true
  let failures = 0
  while (failures < GIVE_UP_AFTER) {
    await sleep(POLL_MS)
    let status
    try {
      status = await poll(box.dataset.statusUrl)
      failures = 0
    } catch {
      failures += 1
      continue
    }
    apply(box, status)
    if (!status.active) {
      await refreshResults()
      return
    }
  }
  if (refresh) refresh.hidden = false
}

for (const box of document.querySelectorAll('[data-push-progress]')) {
  if (box.dataset.active === 'true') follow(box)
}
