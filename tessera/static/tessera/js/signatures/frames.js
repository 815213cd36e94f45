// Signature frames grow to their content's height (same origin, no script inside them).
export function fit (frame) {
  const doc = frame.contentDocument
  if (doc && doc.documentElement) frame.style.height = `${doc.documentElement.scrollHeight}px`
}

for (const frame of document.querySelectorAll('.sig-scroll iframe')) {
  frame.addEventListener('load', () => fit(frame))
  if (frame.contentDocument?.readyState === 'complete') fit(frame)
}
