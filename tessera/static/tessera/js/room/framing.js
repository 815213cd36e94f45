// Frame layout for end-to-end encryption, SFrame-like:
//   clear codec header | AES-GCM ciphertext and tag | IV (12 bytes) | key index (1 byte)
// The clear header lets a router (a later SFU) and the depacketizer read what they need; it is
// authenticated as additional data, so it cannot be altered either.

export const IV_BYTES = 12;
export const TRAILER_BYTES = IV_BYTES + 1;

/** How many leading bytes stay clear: VP8 10 (key frame) or 3 (delta frame), Opus 1, others 0. */
export function clearBytes(codec, frameType) {
  switch ((codec || "").toLowerCase()) {
    case "vp8":
      return frameType === "key" ? 10 : 3;
    case "opus":
      return 1;
    default:
      return 0;
  }
}

/** The codec of an encoded frame: from its metadata when the browser says, else by media kind. */
export function codecOf(metadata, kind) {
  const mime = metadata && metadata.mimeType;
  if (mime) return mime.split("/")[1].toLowerCase();
  return kind === "audio" ? "opus" : "vp8";
}

/**
 * A 96-bit IV unique per frame of one sender: 4 random bytes, then a 64-bit frame counter.
 * `into` lets a sender reuse one buffer (WebCrypto copies the IV when a call starts).
 */
export function makeIv(salt, counter, into = new Uint8Array(IV_BYTES)) {
  const iv = into;
  iv.set(salt.subarray(0, 4), 0);
  const view = new DataView(iv.buffer);
  view.setUint32(4, Math.floor(counter / 0x100000000) >>> 0);
  view.setUint32(8, counter >>> 0);
  return iv;
}

/** Join the clear header, the ciphertext and the trailer into one frame payload. */
export function seal(header, ciphertext, iv, keyIndex) {
  const out = new Uint8Array(header.byteLength + ciphertext.byteLength + TRAILER_BYTES);
  out.set(header, 0);
  out.set(ciphertext, header.byteLength);
  out.set(iv, header.byteLength + ciphertext.byteLength);
  out[out.byteLength - 1] = keyIndex & 0xff;
  return out;
}

/** Split a received payload; null when it is too short to be one of ours. */
export function open(data, headerBytes) {
  if (data.byteLength < headerBytes + TRAILER_BYTES + 16) return null;
  const end = data.byteLength - TRAILER_BYTES;
  return {
    header: data.subarray(0, headerBytes),
    ciphertext: data.subarray(headerBytes, end),
    iv: data.subarray(end, end + IV_BYTES),
    keyIndex: data[data.byteLength - 1],
  };
}
