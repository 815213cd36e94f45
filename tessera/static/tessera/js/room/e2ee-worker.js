// Encrypts and decrypts every encoded audio and video frame (RTCRtpScriptTransform).
// Per frame it does one WebCrypto call and the one copy that joins header, ciphertext and trailer;
// keys are imported once, buffers that can be reused are, and the codec is read from the frame's
// metadata only when it can change (a video key frame) and now and then, not for every frame.
import { IV_BYTES, clearBytes, codecOf, makeIv, open, seal } from "./framing.js";

const keys = new Map(); // key index (0-255) -> CryptoKey
let sendIndex = 0;
const receivers = new Set(); // decrypting transformers, asked for a key frame when a key arrives
const starved = new WeakSet(); // receivers that dropped frames for want of a key
const CODEC_RECHECK = 128; // frames between two metadata reads when no key frame says the codec changed

self.onmessage = async ({ data }) => {
  if (data.type === "key") {
    keys.set(data.index & 0xff, await crypto.subtle.importKey("raw", data.key, "AES-GCM", false, ["encrypt", "decrypt"]));
    if (data.send) sendIndex = data.index & 0xff;
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
    for (const index of data.indexes) keys.delete(index & 0xff);
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
  return async (frame) => {
    const key = keys.get(sendIndex);
    if (!key || frame.data.byteLength === 0) return null; // nothing leaves unencrypted
    const index = sendIndex;
    const data = new Uint8Array(frame.data);
    const n = Math.min(clearBytes(codec(frame), frame.type), data.byteLength);
    makeIv(salt, counter++, iv);
    const header = data.subarray(0, n);
    const ct = await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: header }, key, data.subarray(n));
    frame.data = seal(header, new Uint8Array(ct), iv, index).buffer;
    return frame;
  };
}

function decryptor(kind, transformer) {
  const codec = codecTracker(kind);
  return async (frame) => {
    const data = new Uint8Array(frame.data);
    if (data.byteLength === 0) return null;
    const n = clearBytes(codec(frame), frame.type);
    const parts = open(data, n);
    const key = parts && keys.get(parts.keyIndex);
    if (!key) {
      starved.add(transformer);
      return null; // unknown key: drop, never pass through
    }
    let plain;
    try {
      plain = await crypto.subtle.decrypt({ name: "AES-GCM", iv: parts.iv, additionalData: parts.header }, key, parts.ciphertext);
    } catch {
      return null; // wrong key or altered frame: dropped
    }
    const out = new Uint8Array(n + plain.byteLength);
    out.set(parts.header, 0);
    out.set(new Uint8Array(plain), n);
    frame.data = out.buffer;
    return frame;
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
      const out = await transform(frame);
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
