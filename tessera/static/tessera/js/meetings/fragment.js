// The key of a meeting link lives in the URL fragment: `<token>` or, when the meeting's links carry the key,
// `<token>.<room-secret>` (docs/decisions/0010). It never reaches the server in a URL; the page reads it
// here and sends only what the server must know: the token.

const TOKEN = /^[A-Za-z0-9_-]{16,64}$/;
const SECRET = /^[A-Za-z0-9_-]{43}$/;

/** `{ token, secret, key }` from a fragment; `secret` is "" when the link carries no key; null when malformed. */
export function parseKey(hash) {
  const raw = (hash || "").replace(/^#/, "").trim();
  const dot = raw.indexOf(".");
  const token = dot < 0 ? raw : raw.slice(0, dot);
  const secret = dot < 0 ? "" : raw.slice(dot + 1);
  if (!TOKEN.test(token) || (secret && !SECRET.test(secret))) return null;
  return { token, secret, key: raw };
}

/** A fresh room secret: 256 random bits, base64url without padding (43 characters). */
export function secretMake() {
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(32));
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export const ROOM_SECRET = SECRET;
