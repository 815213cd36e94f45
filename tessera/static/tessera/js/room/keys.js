// Key derivation and key exchange, with WebCrypto only (browsers and Node alike).
// See docs/decisions/0004-e2ee-keys.md for the design.

const subtle = globalThis.crypto.subtle;
const encoder = new TextEncoder();

export function b64uDecode(text) {
  const b64 = text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4);
  const binary = atob(b64);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

export function b64uEncode(bytes) {
  let binary = "";
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  for (let i = 0; i < view.length; i++) binary += String.fromCharCode(view[i]);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function concat(...parts) {
  const chunks = parts.map((p) => (typeof p === "string" ? encoder.encode(p) : new Uint8Array(p)));
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return out;
}

export const ROOM_SECRET = /^[A-Za-z0-9_-]{43}$/;

async function hkdfBits(ikm, salt, info, bits = 256) {
  const base = await subtle.importKey("raw", ikm, "HKDF", false, ["deriveBits"]);
  return new Uint8Array(
    await subtle.deriveBits({ name: "HKDF", hash: "SHA-256", salt: encoder.encode(salt), info: encoder.encode(info) }, base, bits),
  );
}

/**
 * Everything the room secret gives: the first media key (index 0), the chat key and the key that
 * authenticates participants' public keys. The room id salts the derivation.
 */
export async function roomKeys(roomSecret, roomId) {
  const ikm = b64uDecode(roomSecret);
  const salt = `tessera/room/${roomId}`;
  const media = await hkdfBits(ikm, salt, "tessera media key 0");
  const chatRaw = await hkdfBits(ikm, salt, "tessera chat key");
  const authRaw = await hkdfBits(ikm, salt, "tessera participant key authentication");
  const chat = await subtle.importKey("raw", chatRaw, "AES-GCM", false, ["encrypt", "decrypt"]);
  const auth = await subtle.importKey("raw", authRaw, { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
  return { media, chat, auth };
}

/**
 * The safety code participants compare aloud: "123 456 789 012". It covers the current media key and the
 * set of public keys this page verified (its own included), so that a key or a participant that the
 * server substitutes or hides from some pages gives those pages another code (decision 0010).
 */
export async function safetyCode(mediaKey, publicKeys = []) {
  const roster = [...new Set(publicKeys)].sort().join("\0");
  const digest = new Uint8Array(await subtle.digest("SHA-256", concat("tessera safety code\0", mediaKey, "\0", roster)));
  // 48 bits read as a number (exact in a double), 12 decimal digits: about 40 bits to guess or collide.
  let number = 0;
  for (let i = 0; i < 6; i++) number = number * 256 + digest[i];
  const digits = String(number % 1_000_000_000_000).padStart(12, "0");
  return digits.match(/.{3}/g).join(" ");
}

/** An ephemeral ECDH key pair for this connection; the public key as raw bytes (base64url). */
export async function ecdhKeyPair() {
  const pair = await subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, false, ["deriveBits"]);
  const raw = new Uint8Array(await subtle.exportKey("raw", pair.publicKey));
  return { privateKey: pair.privateKey, publicKey: b64uEncode(raw) };
}

function helloData(roomId, pid, publicKey) {
  return concat("tessera hello\0", roomId, "\0", pid, "\0", publicKey);
}

/** Proof that whoever announces `publicKey` as participant `pid` knows the room secret. */
export async function helloTag(authKey, roomId, pid, publicKey) {
  return b64uEncode(await subtle.sign("HMAC", authKey, helloData(roomId, pid, publicKey)));
}

export async function helloVerify(authKey, roomId, pid, publicKey, tag) {
  try {
    return await subtle.verify("HMAC", authKey, b64uDecode(tag), helloData(roomId, pid, publicKey));
  } catch {
    return false;
  }
}

async function wrappingKey(privateKey, theirPublicKey, roomId, info) {
  const pub = await subtle.importKey("raw", b64uDecode(theirPublicKey), { name: "ECDH", namedCurve: "P-256" }, false, []);
  const shared = new Uint8Array(await subtle.deriveBits({ name: "ECDH", public: pub }, privateKey, 256));
  const raw = await hkdfBits(shared, `tessera/room/${roomId}`, info);
  return subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt", "decrypt"]);
}

async function seal(wrapping, aad, plain) {
  const iv = globalThis.crypto.getRandomValues(new Uint8Array(12));
  const ct = await subtle.encrypt({ name: "AES-GCM", iv, additionalData: concat(aad) }, wrapping, plain);
  return { iv: b64uEncode(iv), ct: b64uEncode(ct) };
}

async function unseal(wrapping, aad, iv, ct) {
  return new Uint8Array(await subtle.decrypt({ name: "AES-GCM", iv: b64uDecode(iv), additionalData: concat(aad) }, wrapping, b64uDecode(ct)));
}

/** Encrypt a media key for one participant, bound to sender, recipient and key index. */
export async function wrapMediaKey({ privateKey, theirPublicKey, roomId, from, to, index, key }) {
  const wrapping = await wrappingKey(privateKey, theirPublicKey, roomId, `tessera key wrap ${from}>${to}`);
  return seal(wrapping, `${from}>${to}#${index}`, key);
}

/** The media key a participant sent us, or null when it does not decrypt (forged, or not for us). */
export async function unwrapMediaKey({ privateKey, theirPublicKey, roomId, from, to, index, iv, ct }) {
  try {
    const wrapping = await wrappingKey(privateKey, theirPublicKey, roomId, `tessera key wrap ${from}>${to}`);
    return await unseal(wrapping, `${from}>${to}#${index}`, iv, ct);
  } catch {
    return null;
  }
}

/**
 * The hand-over of decision 0010: the room secret, the current media key and its index, encrypted for a
 * newcomer's ephemeral public key only.
 */
export async function wrapRoom({ privateKey, theirPublicKey, roomId, from, to, secret, epoch, key }) {
  const wrapping = await wrappingKey(privateKey, theirPublicKey, roomId, `tessera room handover ${from}>${to}`);
  return seal(wrapping, `${from}>${to}`, encoder.encode(JSON.stringify({ secret, epoch, key: b64uEncode(key) })));
}

/** `{ secret, epoch, key }` from a hand-over, or null when it does not decrypt or is malformed. */
export async function unwrapRoom({ privateKey, theirPublicKey, roomId, from, to, iv, ct }) {
  try {
    const wrapping = await wrappingKey(privateKey, theirPublicKey, roomId, `tessera room handover ${from}>${to}`);
    const data = JSON.parse(new TextDecoder().decode(await unseal(wrapping, `${from}>${to}`, iv, ct)));
    const key = b64uDecode(String(data.key));
    if (!ROOM_SECRET.test(data.secret) || !Number.isInteger(data.epoch) || data.epoch < 0 || key.length !== 32) return null;
    return { secret: data.secret, epoch: data.epoch, key };
  } catch {
    return null;
  }
}

/**
 * The key of app messages (chat, reactions, raised hands, media state) under one media key: it rotates with
 * the media key, so that whoever was handed the key once reads nothing sent after it left (decision 0010).
 */
export async function appKey(mediaKey, roomId) {
  const raw = await hkdfBits(mediaKey, `tessera/room/${roomId}`, "tessera app key");
  return subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt", "decrypt"]);
}

/** Encrypt a small message (chat, names, state) with the chat key: base64url(iv | ciphertext). */
export async function sealText(chatKey, text) {
  const iv = globalThis.crypto.getRandomValues(new Uint8Array(12));
  const ct = await subtle.encrypt({ name: "AES-GCM", iv }, chatKey, encoder.encode(text));
  return b64uEncode(concat(iv, ct));
}

export async function openText(chatKey, payload) {
  try {
    const bytes = b64uDecode(payload);
    const plain = await subtle.decrypt({ name: "AES-GCM", iv: bytes.subarray(0, 12) }, chatKey, bytes.subarray(12));
    return new TextDecoder().decode(plain);
  } catch {
    return null;
  }
}

export function randomKey() {
  return globalThis.crypto.getRandomValues(new Uint8Array(32));
}
