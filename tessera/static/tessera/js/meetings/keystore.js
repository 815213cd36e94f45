// The meeting keys this browser holds (docs/decisions/0010): one localStorage entry per room,
// `tessera.meetingKey.<room-id>` = {secret, until}, dropped once `until` (a day after the meeting) has
// passed. A key never leaves the browser through here: the pages use it in URL fragments only.
import { ROOM_SECRET } from "./fragment.js";

const PREFIX = "tessera.meetingKey.";
// The key the creation page made, waiting in this tab's session until the next page knows the room id.
export const PENDING_CREATED = "tessera.pendingMeetingKey";
// The key found in a management link's fragment, waiting while the page posts the token.
export const pendingManaged = (publicId) => `tessera.pendingManageKey.${publicId}`;

function storage(name) {
  try {
    return window[name];
  } catch {
    return null; // storage disabled: the pages work without it, the organiser pastes the key
  }
}

/** Drops the expired (or unreadable) entries. */
export function keysSweep(now = Date.now()) {
  const local = storage("localStorage");
  if (!local) return;
  const names = [];
  for (let i = 0; i < local.length; i++) {
    const name = local.key(i);
    if (name && name.startsWith(PREFIX)) names.push(name);
  }
  for (const name of names) {
    let entry = null;
    try {
      entry = JSON.parse(local.getItem(name));
    } catch {
      entry = null;
    }
    const until = entry && Date.parse(entry.until);
    if (!entry || !ROOM_SECRET.test(entry.secret || "") || !(until > now)) local.removeItem(name);
  }
}

/** The key this browser holds for the room, or "". */
export function keyGet(roomId) {
  const local = storage("localStorage");
  try {
    const entry = local && JSON.parse(local.getItem(PREFIX + roomId));
    return entry && ROOM_SECRET.test(entry.secret || "") && Date.parse(entry.until) > Date.now() ? entry.secret : "";
  } catch {
    return "";
  }
}

export function keyPut(roomId, secret, until) {
  if (!ROOM_SECRET.test(secret || "")) return false;
  try {
    storage("localStorage").setItem(PREFIX + roomId, JSON.stringify({ secret, until }));
    return true;
  } catch {
    return false;
  }
}

/** Reads and removes a value of this tab's session storage. */
export function pendingTake(name) {
  const session = storage("sessionStorage");
  try {
    const value = session ? session.getItem(name) : null;
    if (session) session.removeItem(name);
    return value && ROOM_SECRET.test(value) ? value : "";
  } catch {
    return "";
  }
}

export function pendingPut(name, secret) {
  try {
    storage("sessionStorage").setItem(name, secret);
  } catch {
    // no session storage: the next page shows that this device holds no key
  }
}

/** Wires a copy button to the key shown beside it; `secret` is the key or a function that returns it. */
export function copyButton(button, secret) {
  if (!button) return;
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(typeof secret === "function" ? secret() : secret);
      button.textContent = button.dataset.copied;
    } catch {
      const code = button.parentElement.querySelector("[data-key-value]");
      if (code) window.getSelection().selectAllChildren(code);
    }
  });
}
