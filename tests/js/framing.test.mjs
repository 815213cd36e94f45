import assert from "node:assert/strict";
import { test } from "node:test";

import { clearBytes, codecOf, makeIv, open, seal, TRAILER_BYTES } from "../../tessera/static/tessera/js/room/framing.js";

test("clear header bytes follow the codec: VP8 10/3, Opus 1, others none", () => {
  assert.equal(clearBytes("VP8", "key"), 10);
  assert.equal(clearBytes("vp8", "delta"), 3);
  assert.equal(clearBytes("opus"), 1);
  assert.equal(clearBytes("av1", "key"), 0);
  assert.equal(codecOf({ mimeType: "video/VP8" }, "video"), "vp8");
  assert.equal(codecOf({}, "audio"), "opus");
});

test("the IV is unique per frame and carries the counter", () => {
  const salt = new Uint8Array([1, 2, 3, 4]);
  const a = makeIv(salt, 1);
  const b = makeIv(salt, 2 ** 32 + 1);
  assert.equal(a.byteLength, 12);
  assert.deepEqual([...a.subarray(0, 4)], [1, 2, 3, 4]);
  assert.notDeepEqual([...a], [...b]);
  assert.equal(b[7], 1);
  assert.equal(b[11], 1);
});

test("seal and open round-trip: header clear, trailer with IV and key index", () => {
  const header = new Uint8Array([0x90, 0x11, 0x22]);
  const ct = new Uint8Array(40).fill(7);
  const iv = new Uint8Array(12).fill(9);
  const frame = seal(header, ct, iv, 257);
  assert.equal(frame.byteLength, 3 + 40 + TRAILER_BYTES);
  assert.deepEqual([...frame.subarray(0, 3)], [...header]);
  const parts = open(frame, 3);
  assert.equal(parts.keyIndex, 1); // indexes wrap at 256
  assert.deepEqual([...parts.iv], [...iv]);
  assert.deepEqual([...parts.ciphertext], [...ct]);
  assert.equal(open(new Uint8Array(10), 3), null);
});
