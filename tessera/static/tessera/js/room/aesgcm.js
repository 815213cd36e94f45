// AES-256-GCM done synchronously inside the frame worker, with BearSSL's constant-time code compiled to
// WebAssembly (static/tessera/vendor/bearssl-gcm/). Per frame it saves the two thread hops of an
// asynchronous WebCrypto call, which cost more than the cipher itself at media frame sizes
// (docs/decisions/0007-frame-cipher-in-webassembly.md). Output is byte for byte the same as WebCrypto's,
// so peers using either interoperate.
import { IV_BYTES, TRAILER_BYTES } from "./framing.js";

const TAG_BYTES = 16;
const KEY_BYTES = 32;

/** Loads the module; resolves to null when WebAssembly is unavailable (the caller keeps WebCrypto). */
export async function aesGcmLoad(url) {
  try {
    const response = await fetch(url);
    if (!response.ok) return null;
    const { instance } = await WebAssembly.instantiate(await response.arrayBuffer(), {});
    return new AesGcm(instance.exports);
  } catch {
    return null;
  }
}

export class AesGcm {
  constructor(exports) {
    this.w = exports;
    this.base = exports.buffer();
    this.capacity = exports.buffer_bytes();
    this.memory = new Uint8Array(exports.memory.buffer, this.base, this.capacity); // never grows
    this.iv = this.base; // IV_BYTES
    this.data = this.base + 64; // the frame, laid out as it leaves or arrives
    this.free = [0, 1, 2, 3, 4, 5, 6, 7];
  }

  /** Keys a slot with 32 raw bytes; returns the slot, or -1 when all are in use. */
  keySet(raw) {
    const bytes = new Uint8Array(raw);
    if (bytes.byteLength !== KEY_BYTES || this.free.length === 0) return -1;
    const slot = this.free.shift();
    this.memory.set(bytes, this.data - this.base);
    this.w.key_set(slot, this.data); // wipes the key bytes from the buffer
    return slot;
  }

  keyClear(slot) {
    if (slot < 0) return;
    this.w.key_clear(slot);
    if (!this.free.includes(slot)) this.free.push(slot);
  }

  /** Whether a frame of this many bytes, with its tag and trailer, fits in the buffer. */
  fits(bytes) {
    return bytes + TAG_BYTES + TRAILER_BYTES <= this.capacity - 64;
  }

  /**
   * header | ciphertext | tag | IV | key index, from a frame whose first `clear` bytes stay readable.
   * Returns a fresh ArrayBuffer.
   */
  seal(slot, frame, clear, iv, keyIndex) {
    const at = this.data - this.base;
    const len = frame.byteLength;
    this.memory.set(frame, at);
    this.memory.set(iv, this.iv - this.base);
    if (!this.w.seal(slot, this.data, clear, len, this.iv)) return null;
    const end = at + len + TAG_BYTES;
    this.memory.set(iv, end);
    this.memory[end + IV_BYTES] = keyIndex & 0xff;
    return this.memory.slice(at, end + TRAILER_BYTES).buffer;
  }

  /** The frame with its payload decrypted, or null when the tag does not verify. */
  open(slot, payload, clear) {
    const at = this.data - this.base;
    const total = payload.byteLength;
    const len = total - TRAILER_BYTES - TAG_BYTES;
    if (len < clear) return null;
    this.memory.set(payload, at);
    const ok = this.w.open(slot, this.data, clear, len, this.data + len + TAG_BYTES, this.data + len);
    return ok ? this.memory.slice(at, at + len).buffer : null;
  }
}
