"""Opening the live room in Chromium pages, and reading what each page decodes."""

import time

# Injected by the test harness (not by the product): keeps every RTCPeerConnection the page makes so that
# the test can read what it decodes.
PC_SPY = """
(() => {
  const Native = window.RTCPeerConnection;
  window.__pcs = [];
  function Spied(...args) { const pc = new Native(...args); window.__pcs.push(pc); return pc; }
  Spied.prototype = Native.prototype;
  Object.setPrototypeOf(Spied, Native);
  window.RTCPeerConnection = Spied;
  window.__inbound = async () => {
    const out = [];
    for (const [index, pc] of window.__pcs.entries()) {
      if (pc.connectionState === "closed") continue;
      const report = await pc.getStats();
      const entry = { pc: index, video: 0, audio: 0, state: pc.connectionState };
      report.forEach((r) => {
        if (r.type !== "inbound-rtp") return;
        if (r.kind === "video") entry.video += r.framesDecoded || 0;
        if (r.kind === "audio") entry.audio += r.totalAudioEnergy || 0;
      });
      out.push(entry);
    }
    return out;
  };
})();
"""


def open_room(browser, server, path: str, *, name: str = "", join: bool = True, context_args=None):
    context = browser.new_context(**(context_args or {}))
    page = context.new_page()
    page.add_init_script(PC_SPY)
    page.goto(server.url + path)
    page.wait_for_selector("#room-app[data-state=prejoin]", timeout=10_000)
    if name:
        page.fill("#display-name", name)
    if join:
        page.click("#join-button")
    return page


def inbound(page) -> list[dict]:
    return page.evaluate("window.__inbound()")


def wait_until(predicate, timeout: float = 15.0, interval: float = 0.25, message: str = "condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"{message} not met within {timeout} s (last: {last!r})")


def decoding_from_all(page, peers: int, kind: str = "video") -> bool:
    """True when `peers` connections each decoded something of `kind`."""
    stats = inbound(page)
    return sum(1 for s in stats if s[kind] > 0) >= peers


def totals(page, kind: str = "video") -> list[float]:
    return sorted((s[kind] for s in inbound(page)), reverse=True)
