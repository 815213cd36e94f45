import assert from "node:assert/strict";
import { webcrypto } from "node:crypto";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { AesGcm } from "../../tessera/static/tessera/js/room/aesgcm.js";
import { TRAILER_BYTES, open as split } from "../../tessera/static/tessera/js/room/framing.js";

// Debian 12 ships Node.js 18, where the Web Crypto API is not yet a global.
globalThis.crypto ??= webcrypto;

const WASM = new URL("../../tessera/static/tessera/vendor/bearssl-gcm/aesgcm.wasm", import.meta.url);
const hex = (s) => Uint8Array.from(s.match(/../g) || [], (b) => parseInt(b, 16));
const toHex = (a) => Buffer.from(a).toString("hex");

async function cipher() {
  const { instance } = await WebAssembly.instantiate(readFileSync(WASM), {});
  return new AesGcm(instance.exports);
}

/** The payload and tag of a sealed frame (header | ciphertext | tag | IV | key index). */
function body(frame, clear) {
  const bytes = new Uint8Array(frame);
  return toHex(bytes.subarray(clear, bytes.byteLength - TRAILER_BYTES));
}

// The AES-256 cases of the GCM specification (McGrew and Viega), test cases 13, 14 and 16.
const VECTORS = [
  { key: "00".repeat(32), iv: "00".repeat(12), aad: "", pt: "", ct: "", tag: "530f8afbc74536b9a963b4f1c4cb738b" },
  {
    key: "00".repeat(32), iv: "00".repeat(12), aad: "", pt: "00".repeat(16),
    ct: "cea7403d4d606b6e074ec5d3baf39d18", tag: "d0d1c8a799996bf0265b98b5d48ab919",
  },
  {
    key: "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
    iv: "cafebabefacedbaddecaf888",
    aad: "feedfacedeadbeeffeedfacedeadbeefabaddad2",
    pt: "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
    ct: "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
    tag: "76fc6ece0f4e1768cddf8853bb2d551b",
  },
];

test("the WebAssembly cipher gives the GCM specification's AES-256 results", async () => {
  const gcm = await cipher();
  for (const v of VECTORS) {
    const slot = gcm.keySet(hex(v.key).buffer);
    const aad = hex(v.aad);
    const frame = new Uint8Array([...aad, ...hex(v.pt)]);
    const sealed = gcm.seal(slot, frame, aad.byteLength, hex(v.iv), 5);
    assert.equal(body(sealed, aad.byteLength), v.ct + v.tag);
    assert.deepEqual(new Uint8Array(gcm.open(slot, new Uint8Array(sealed), aad.byteLength)), frame);
    gcm.keyClear(slot);
  }
});

test("it matches WebCrypto byte for byte, so peers using either interoperate", async () => {
  const gcm = await cipher();
  for (let round = 0; round < 200; round++) {
    const raw = crypto.getRandomValues(new Uint8Array(32));
    const key = await crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt", "decrypt"]);
    const slot = gcm.keySet(raw.buffer);
    const length = Math.floor(Math.random() * 5000);
    const frame = crypto.getRandomValues(new Uint8Array(length));
    const clear = Math.min(length, [0, 1, 3, 10][round % 4]);
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const sealed = new Uint8Array(gcm.seal(slot, frame, clear, iv, round));
    const reference = new Uint8Array(
      await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: frame.subarray(0, clear) }, key, frame.subarray(clear)),
    );
    assert.equal(body(sealed, clear), toHex(reference));
    // The trailer is the framing module's: IV then key index.
    const parts = split(sealed, clear);
    assert.deepEqual(new Uint8Array(parts.iv), iv);
    assert.equal(parts.keyIndex, round & 0xff);
    // And WebCrypto opens what the module sealed.
    const plain = await crypto.subtle.decrypt({ name: "AES-GCM", iv, additionalData: parts.header }, key, parts.ciphertext);
    assert.deepEqual(new Uint8Array(plain), frame.subarray(clear));
    gcm.keyClear(slot);
  }
});

test("an altered frame, header or trailer does not open, and a cleared key seals nothing", async () => {
  const gcm = await cipher();
  const slot = gcm.keySet(crypto.getRandomValues(new Uint8Array(32)).buffer);
  const frame = crypto.getRandomValues(new Uint8Array(300));
  const sealed = new Uint8Array(gcm.seal(slot, frame, 3, crypto.getRandomValues(new Uint8Array(12)), 1));
  for (const at of [0, 2, 3, 150, sealed.byteLength - TRAILER_BYTES - 1, sealed.byteLength - 2]) {
    const altered = sealed.slice();
    altered[at] ^= 0x01;
    assert.equal(gcm.open(slot, altered, 3), null, `byte ${at}`);
  }
  assert.equal(gcm.open(slot, sealed.subarray(0, 20), 3), null);
  const other = gcm.keySet(crypto.getRandomValues(new Uint8Array(32)).buffer);
  assert.equal(gcm.open(other, sealed, 3), null);
  gcm.keyClear(slot);
  assert.equal(gcm.seal(slot, frame, 3, new Uint8Array(12), 1), null);
  assert.equal(gcm.open(slot, sealed, 3), null);
});

test("eight keys fit at once; a cleared slot is reused; keys of the wrong length are refused", async () => {
  const gcm = await cipher();
  const slots = Array.from({ length: 8 }, () => gcm.keySet(new Uint8Array(32).fill(1).buffer));
  assert.deepEqual([...slots].sort(), [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.equal(gcm.keySet(new Uint8Array(32).buffer), -1);
  gcm.keyClear(slots[3]);
  assert.equal(gcm.keySet(new Uint8Array(32).buffer), slots[3]);
  gcm.keyClear(0);
  assert.equal(gcm.keySet(new Uint8Array(16).buffer), -1);
  // The key bytes do not stay in the module's buffer once set.
  const marker = new Uint8Array(32).fill(0xa5);
  gcm.keySet(marker.buffer);
  assert.ok(!toHex(gcm.memory).includes("a5".repeat(32)));
});
