// Waiting page: asks the server what this link allows (token in a POST body), then counts down.
import { parseKey } from "./fragment.js";

const root = document.getElementById("meeting");
const lang = document.documentElement.lang || "fr";
let timer = null;
let recheck = null;

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
    if (left === 0) {
      clearInterval(timer);
      check();
    }
  };
  tick();
  timer = setInterval(tick, 1000);
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
    show([data.state]);
    return;
  }
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
    show(["event", data.state]);
    if (data.state === "open" || data.state === "lobby") {
      // Look again when the event ends, to say so.
      clearTimeout(recheck);
      const endsIn = new Date(data.ends_at).getTime() - (Date.now() + skew);
      recheck = setTimeout(check, Math.min(Math.max(endsIn, 1000), 2 ** 31 - 1));
    }
  }
}

// The room page reads the same fragment; it never travels in the request.
for (const button of root.querySelectorAll('[data-action="join"]')) {
  button.addEventListener("click", () => location.assign(root.dataset.roomUrl + location.hash));
}
window.addEventListener("hashchange", check);
check();
