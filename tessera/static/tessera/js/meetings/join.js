// What an emailed link allows, asked of the server (the token in a POST body, never in a URL): the
// countdown before the room opens, the event's end, an invalid link; and when the room is open, the room
// itself, started in the same page (meetings/room/room.html).
import { parseKey } from "./fragment.js";

const lang = document.documentElement.lang || "fr";
// Never ask again sooner than this, whatever the clocks say: several open tabs stay far below the rate
// limit of the status endpoint.
const MIN_RECHECK_MS = 5000;
// Ask a moment after the announced change, so that the server's clock has passed it too.
const AFTER_CHANGE_MS = 1000;
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

function formatTime(iso) {
  return new Intl.DateTimeFormat(lang, { dateStyle: "full", timeStyle: "short" }).format(new Date(iso));
}

function pad(n) {
  return String(n).padStart(2, "0");
}

/** The server's answer about the link in the fragment, or null when the request failed. */
async function ask(root) {
  const parsed = parseKey(window.location.hash);
  if (!parsed) return { state: "invalid" };
  try {
    const response = await fetch(root.dataset.statusUrl, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRFToken": root.dataset.csrf },
      body: JSON.stringify({ token: parsed.token }),
      credentials: "omit",
      cache: "no-store",
    });
    return await response.json();
  } catch {
    return null;
  }
}

// The page loads this module on its own, early (async): the first question leaves while the room's
// modules are still arriving, and watchLink() takes its answer.
const early = document.getElementById("meeting");
let firstAnswer = early ? ask(early) : null;

/**
 * Shows in `root` what the link in the URL fragment allows, and keeps it up to date. `onOpen` starts the
 * room: at once when the link is opened while the room is open (the person just clicked it), or with the
 * page's Join button when the room opens while the page waits (the camera never starts unasked).
 */
export function watchLink(root, { onOpen }) {
  let timer = null;
  let recheck = null;
  let firstCheck = true;
  let opened = false;

  function show(states) {
    for (const el of root.querySelectorAll("[data-show]")) {
      el.hidden = !states.includes(el.dataset.show);
    }
    root.dataset.state = states[states.length - 1];
  }

  function field(name, text) {
    const el = root.querySelector(`[data-field="${name}"]`);
    if (el) el.textContent = text;
    return el;
  }

  function countdown(targetMs, skewMs) {
    clearInterval(timer);
    const tick = () => {
      const left = Math.max(0, targetMs - (Date.now() + skewMs));
      const s = Math.floor(left / 1000);
      const days = Math.floor(s / 86400);
      const hms = `${pad(Math.floor((s % 86400) / 3600))}:${pad(Math.floor((s % 3600) / 60))}:${pad(s % 60)}`;
      const el = root.querySelector('[data-field="countdown"]');
      el.textContent = days > 0 ? `${days} ${el.dataset.days} ${hms}` : hms;
      // At zero the scheduled check takes over (see scheduleCheck); the countdown just stops.
      if (left === 0) clearInterval(timer);
    };
    tick();
    timer = setInterval(tick, 1000);
  }

  // One request when the state next changes (the room opens, or the link closes after the grace period).
  function scheduleCheck(changesAtIso, skewMs) {
    clearTimeout(recheck);
    if (!changesAtIso) return;
    const delay = new Date(changesAtIso).getTime() - (Date.now() + skewMs) + AFTER_CHANGE_MS;
    recheck = setTimeout(check, Math.min(Math.max(delay, MIN_RECHECK_MS), MAX_TIMEOUT_MS));
  }

  function open() {
    if (opened) return;
    opened = true;
    clearTimeout(recheck);
    clearInterval(timer);
    window.removeEventListener("hashchange", check);
    onOpen();
  }

  async function check() {
    const answer = root === early && firstAnswer ? firstAnswer : ask(root);
    firstAnswer = null;
    const data = await answer;
    if (data === null) {
      clearTimeout(recheck);
      recheck = setTimeout(check, 5000);
      return;
    }
    if (opened) return;
    if (data.state === "invalid" || data.state === "busy") {
      clearTimeout(recheck);
      clearInterval(timer);
      show([data.state]);
      return;
    }
    if (firstCheck && (data.state === "open" || data.state === "lobby")) {
      open();
      return;
    }
    firstCheck = false;
    field("title", data.title);
    field("description", data.description || "");
    field("starts", formatTime(data.starts_at));
    const skew = new Date(data.now).getTime() - Date.now();
    if (data.state === "waiting") {
      const opens = field("opens", formatTime(data.opens_at));
      opens.setAttribute("datetime", data.opens_at);
      show(["event", "waiting"]);
      countdown(new Date(data.opens_at).getTime(), skew);
    } else {
      clearInterval(timer);
      show(["event", data.state]);
    }
    // Waiting: look again when the room opens; open: when the link closes, to say the event has ended.
    scheduleCheck(data.changes_at, skew);
  }

  for (const button of root.querySelectorAll('[data-action="join"]')) button.addEventListener("click", open);
  window.addEventListener("hashchange", check);
  check();
}
