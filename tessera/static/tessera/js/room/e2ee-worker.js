// Encrypts and decrypts every encoded audio and video frame (RTCRtpScriptTransform).
// The cipher runs synchronously in WebAssembly (aesgcm.js) when it loads, else through WebCrypto; both
// give the same bytes. Per frame there is one copy in and one copy out; keys are set up once, and the
// codec is read from the frame's metadata only when it can change (a video key frame) and now and then.
import { aesGcmLoad } from "./aesgcm.js";
import { IV_BYTES, clearBytes, codecOf, makeIv, open, seal } from "./framing.js";

const keys = new Map(); // key index (0-255) -> { key: CryptoKey, slot: WebAssembly key slot or -1 }
let sendIndex = 0;
const receivers = new Set(); // decrypting transformers, asked for a key frame when a key arrives
const starved = new WeakSet(); // receivers that dropped frames for want of a key
const CODEC_RECHECK = 128; // frames between two metadata reads when no key frame says the codec changed

let gcm = null; // the WebAssembly cipher, once loaded
aesGcmLoad(new URL("../../vendor/bearssl-gcm/aesgcm.wasm", import.meta.url)).then((module) => {
  gcm = module;
  if (gcm) for (const entry of keys.values()) if (entry.slot < 0 && entry.raw) entry.slot = gcm.keySet(entry.raw);
  for (const entry of keys.values()) delete entry.raw;
  self.frameCipher = gcm ? "webassembly" : "webcrypto"; // read by the browser tests
});

function forget(index) {
  const entry = keys.get(index);
  if (!entry) return;
  if (gcm) gcm.keyClear(entry.slot);
  keys.delete(index);
}

self.onmessage = async ({ data }) => {
  if (data.type === "key") {
    const index = data.index & 0xff;
    forget(index);
    const entry = { key: await crypto.subtle.importKey("raw", data.key, "AES-GCM", false, ["encrypt", "decrypt"]), slot: -1 };
    if (gcm) entry.slot = gcm.keySet(data.key);
    else entry.raw = data.key; // keyed into the module when it has loaded
    keys.set(index, entry);
    if (data.send) sendIndex = index;
    // Frames dropped before the key came: the decoder needs a key frame to start again.
    for (const transformer of receivers) {
      if (starved.has(transformer)) {
        starved.delete(transformer);
        transformer.sendKeyFrameRequest?.().catch(() => {});
      }
    }
  } else if (data.type === "send") {
    sendIndex = data.index & 0xff;
  } else if (data.type === "forget") {
    for (const index of data.indexes) forget(index & 0xff);
  }
};

/** The codec of the frames of one transformer, read again on key frames and every few frames. */
function codecTracker(kind) {
  let codec = "";
  let since = 0;
  return (frame) => {
    if (!codec || frame.type === "key" || ++since >= CODEC_RECHECK) {
      codec = codecOf(frame.getMetadata?.(), kind);
      since = 0;
    }
    return codec;
  };
}

function encryptor(kind) {
  const salt = crypto.getRandomValues(new Uint8Array(4));
  const iv = new Uint8Array(IV_BYTES); // frames of one transformer are handled one at a time
  const codec = codecTracker(kind);
  let counter = 0;
  // Returns the frame, null (drop) or, on the WebCrypto path, a promise of either.
  return (frame) => {
    const entry = keys.get(sendIndex);
    const data = new Uint8Array(frame.data);
    if (!entry || data.byteLength === 0) return null; // nothing leaves unencrypted
    const index = sendIndex;
    const n = Math.min(clearBytes(codec(frame), frame.type), data.byteLength);
    makeIv(salt, counter++, iv);
    if (entry.slot >= 0 && gcm.fits(data.byteLength)) {
      const sealed = gcm.seal(entry.slot, data, n, iv, index);
      if (!sealed) return null;
      frame.data = sealed;
      return frame;
    }
    const header = data.subarray(0, n);
    return crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: header }, entry.key, data.subarray(n)).then((ct) => {
      frame.data = seal(header, new Uint8Array(ct), iv, index).buffer;
      return frame;
    });
  };
}

function decryptor(kind, transformer) {
  const codec = codecTracker(kind);
  return (frame) => {
    const data = new Uint8Array(frame.data);
    if (data.byteLength === 0) return null;
    const n = clearBytes(codec(frame), frame.type);
    const parts = open(data, n);
    const entry = parts && keys.get(parts.keyIndex);
    if (!entry) {
      starved.add(transformer);
      return null; // unknown key: drop, never pass through
    }
    if (entry.slot >= 0 && gcm.fits(data.byteLength)) {
      const plain = gcm.open(entry.slot, data, n);
      if (!plain) return null; // wrong key or altered frame: dropped
      frame.data = plain;
      return frame;
    }
    const iv = parts.iv.slice(); // the IV outlives this call's view of the frame
    return crypto.subtle.decrypt({ name: "AES-GCM", iv, additionalData: parts.header }, entry.key, parts.ciphertext).then(
      (plain) => {
        const out = new Uint8Array(n + plain.byteLength);
        out.set(parts.header, 0);
        out.set(new Uint8Array(plain), n);
        frame.data = out.buffer;
        return frame;
      },
      () => null, // wrong key or altered frame: dropped
    );
  };
}

// A read-transform-write loop instead of pipeThrough(TransformStream): one stream hop less per frame.
async function run(transformer, transform) {
  const reader = transformer.readable.getReader();
  const writer = transformer.writable.getWriter();
  try {
    for (;;) {
      const { value: frame, done } = await reader.read();
      if (done) break;
      let out = transform(frame);
      if (out && typeof out.then === "function") out = await out; // WebCrypto path only
      if (out) writer.write(out).catch(() => {});
    }
  } catch {
    /* the sender or receiver went away */
  } finally {
    receivers.delete(transformer);
  }
}

self.onrtctransform = ({ transformer }) => {
  const { operation, kind } = transformer.options;
  if (operation === "decrypt") receivers.add(transformer);
  run(transformer, operation === "encrypt" ? encryptor(kind) : decryptor(kind, transformer));
};
