// Waiting page: asks the server what this link allows (token in a POST body), then counts down.
import { parseKey } from "./fragment.js";

const root = document.getElementById("meeting");
const lang = document.documentElement.lang || "fr";
let timer = null;
let recheck = null;
let firstCheck = true;
// Never ask again sooner than this, whatever the clocks say: several open tabs stay far below the rate
// limit of the status endpoint.
const MIN_RECHECK_MS = 5000;
// Ask a moment after the announced change, so that the server's clock has passed it too.
const AFTER_CHANGE_MS = 1000;
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

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

function formatTime(iso) {
  return new Intl.DateTimeFormat(lang, { dateStyle: "full", timeStyle: "short" }).format(new Date(iso));
}

function pad(n) {
  return String(n).padStart(2, "0");
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

async function check() {
  const parsed = parseKey(window.location.hash);
  if (!parsed) {
    show(["invalid"]);
    return;
  }
  let data;
  try {
    const response = await fetch(root.dataset.statusUrl, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRFToken": root.dataset.csrf },
      body: JSON.stringify({ token: parsed.token }),
      credentials: "omit",
      cache: "no-store",
    });
    data = await response.json();
  } catch {
    clearTimeout(recheck);
    recheck = setTimeout(check, 5000);
    return;
  }
  if (data.state === "invalid" || data.state === "busy") {
    clearTimeout(recheck);
    clearInterval(timer);
    show([data.state]);
    return;
  }
  field("title", data.title);
  field("description", data.description || "");
  field("starts", formatTime(data.starts_at));
  const skew = new Date(data.now).getTime() - Date.now();
  // Opened from the email while the room is open: straight on to the pre-join page, which asks for the
  // camera only once the person is there. A room that opens while the page waits shows its button instead.
  if (firstCheck && (data.state === "open" || data.state === "lobby")) {
    location.replace(root.dataset.roomUrl + location.hash);
    return;
  }
  firstCheck = false;
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

// The room page reads the same fragment; it never travels in the request.
for (const button of root.querySelectorAll('[data-action="join"]')) {
  button.addEventListener("click", () => location.assign(root.dataset.roomUrl + location.hash));
}
window.addEventListener("hashchange", check);
check();
