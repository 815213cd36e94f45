// The key of a meeting link lives in the URL fragment: `<token>.<room-secret>`. It never reaches the server
// in a URL; the page reads it here and sends only what the server must know.

const TOKEN = /^[A-Za-z0-9_-]{16,64}$/;
const SECRET = /^[A-Za-z0-9_-]{43}$/;

export function parseKey(hash) {
  const raw = (hash || "").replace(/^#/, "").trim();
  const dot = raw.indexOf(".");
  if (dot < 0) return null;
  const token = raw.slice(0, dot);
  const secret = raw.slice(dot + 1);
  if (!TOKEN.test(token) || !SECRET.test(secret)) return null;
  return { token, secret, key: raw };
}
