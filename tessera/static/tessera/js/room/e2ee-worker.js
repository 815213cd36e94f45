// Encrypts and decrypts every encoded audio and video frame (RTCRtpScriptTransform).
import { clearBytes, codecOf, makeIv, open, seal } from "./framing.js";

const keys = new Map(); // key index (0-255) -> CryptoKey
let sendIndex = 0;
const receivers = new Set(); // decrypting transformers, asked for a key frame when a key arrives
const starved = new WeakSet(); // receivers that dropped frames for want of a key

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

function encryptor(kind) {
  const salt = crypto.getRandomValues(new Uint8Array(4));
  let counter = 0;
  return async (frame, controller) => {
    const key = keys.get(sendIndex);
    if (!key || frame.data.byteLength === 0) return; // nothing leaves unencrypted
    const data = new Uint8Array(frame.data);
    const n = Math.min(clearBytes(codecOf(frame.getMetadata?.(), kind), frame.type), data.byteLength);
    const iv = makeIv(salt, counter++);
    const header = data.subarray(0, n);
    const ct = new Uint8Array(
      await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: header }, key, data.subarray(n)),
    );
    frame.data = seal(header, ct, iv, sendIndex).buffer;
    controller.enqueue(frame);
  };
}

function decryptor(kind, transformer) {
  return async (frame, controller) => {
    const data = new Uint8Array(frame.data);
    if (data.byteLength === 0) return;
    const n = clearBytes(codecOf(frame.getMetadata?.(), kind), frame.type);
    const parts = open(data, n);
    const key = parts && keys.get(parts.keyIndex);
    if (!key) {
      starved.add(transformer);
      return; // unknown key: drop, never pass through
    }
    try {
      const plain = new Uint8Array(
        await crypto.subtle.decrypt({ name: "AES-GCM", iv: parts.iv, additionalData: parts.header }, key, parts.ciphertext),
      );
      const out = new Uint8Array(n + plain.byteLength);
      out.set(parts.header, 0);
      out.set(plain, n);
      frame.data = out.buffer;
      controller.enqueue(frame);
    } catch {
      // Wrong key or altered frame: dropped.
    }
  };
}

self.onrtctransform = ({ transformer }) => {
  const { operation, kind } = transformer.options;
  if (operation === "decrypt") receivers.add(transformer);
  const transform = operation === "encrypt" ? encryptor(kind) : decryptor(kind, transformer);
  transformer.readable
    .pipeThrough(new TransformStream({ transform }))
    .pipeTo(transformer.writable)
    .catch(() => {})
    .finally(() => receivers.delete(transformer));
};
