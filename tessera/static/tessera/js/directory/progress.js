// Progress bars of directory runs: poll the run's JSON status each second while it is queued or running.
// Without this script the bar shows the state at page load, and the link beside it reloads the page.
const POLL_MS = 1000
const GIVE_UP_AFTER = 10 // failed polls in a row (offline, signed out) before the bar stops following

function apply (box, status) {
  const bar = box.querySelector('progress')
  if (status.percent === null || status.percent === undefined) bar.removeAttribute('value')
  else bar.value = status.percent
  bar.textContent = status.figures
  box.querySelector('[data-run-label]').textContent = capitalise(status.status_label)
  box.querySelector('[data-run-figures]').textContent = status.figures
  box.dataset.status = status.status
}

function capitalise (text) {
  return text ? text[0].toUpperCase() + text.slice(1) : text
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

async function poll (url) {
  const response = await fetch(url, { headers: { Accept: 'application/json' }, cache: 'no-store', credentials: 'same-origin' })
  if (!response.ok) throw new Error(`status ${response.status}`)
  return response.json()
}

// Once the run is over, the parts of the page that depend on it are fetched again and swapped in.
async function refreshResults () {
  const response = await fetch(window.location.href, { cache: 'no-store', credentials: 'same-origin' })
  if (!response.ok) return
  const fresh = new DOMParser().parseFromString(await response.text(), 'text/html')
  for (const part of document.querySelectorAll('[data-run-results]')) {
    const replacement = fresh.getElementById(part.id)
    if (replacement) part.replaceWith(replacement)
  }
  for (const button of document.querySelectorAll('[data-run-busy]')) button.disabled = false
}

async function follow (box) {
  const refresh = box.querySelector('[data-run-refresh]')
  refresh?.classList.add('hidden') // the script keeps the bar current: no need to reload by hand
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
      if (box.dataset.onDone === 'reload') window.location.reload()
      else await refreshResults()
      return
    }
  }
  refresh?.classList.remove('hidden')
}

for (const box of document.querySelectorAll('[data-run-progress]')) {
  if (box.dataset.active === 'true') follow(box)
}
