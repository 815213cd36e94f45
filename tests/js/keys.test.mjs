import assert from "node:assert/strict";
import { webcrypto } from "node:crypto";
import { test } from "node:test";

import {
  b64uDecode,
  b64uEncode,
  ecdhKeyPair,
  helloTag,
  helloVerify,
  openText,
  randomKey,
  roomKeys,
  safetyCode,
  sealText,
  unwrapMediaKey,
  unwrapRoom,
  wrapMediaKey,
  wrapRoom,
} from "../../tessera/static/tessera/js/room/keys.js";

// Debian 12 ships Node.js 18, where the Web Crypto API is not yet a global.
globalThis.crypto ??= webcrypto;

const SECRET = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"; // bytes 0..31
const OTHER = "HxwdHh8AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBka";
const hex = (bytes) => Buffer.from(bytes).toString("hex");

test("the first media key is HKDF-SHA256 of the room secret (known answer)", async () => {
  const keys = await roomKeys(SECRET, "room-abc");
  assert.equal(hex(keys.media), "d34e3f74a0f14a52331313759719ce119ee5c44160287d7001ee4e15cdd91e39");
  assert.notEqual(hex((await roomKeys(SECRET, "room-xyz")).media), hex(keys.media));
  assert.equal(b64uEncode(b64uDecode(SECRET)), SECRET);
});

test("the safety code is the same for the same key and differs after a rotation", async () => {
  const keys = await roomKeys(SECRET, "room-abc");
  const code = await safetyCode(keys.media);
  assert.match(code, /^\d{3} \d{3} \d{3} \d{3}$/);
  assert.equal(code, await safetyCode((await roomKeys(SECRET, "room-abc")).media));
  assert.notEqual(code, await safetyCode(randomKey()));
});

test("the safety code covers the roster: a hidden or substituted public key changes it", async () => {
  const { media } = await roomKeys(SECRET, "room-abc");
  const [a, b, c, mallory] = await Promise.all([ecdhKeyPair(), ecdhKeyPair(), ecdhKeyPair(), ecdhKeyPair()]);
  const full = await safetyCode(media, [a.publicKey, b.publicKey, c.publicKey]);
  // Every page lists the same set in its own order: the same code.
  assert.equal(full, await safetyCode(media, [c.publicKey, a.publicKey, b.publicKey]));
  assert.equal(full, await safetyCode(media, [b.publicKey, c.publicKey, a.publicKey, b.publicKey]));
  // A page shown one participant fewer, or a public key the server put in place of one, disagrees.
  assert.notEqual(full, await safetyCode(media, [a.publicKey, b.publicKey]));
  assert.notEqual(full, await safetyCode(media, [a.publicKey, b.publicKey, mallory.publicKey]));
  assert.notEqual(full, await safetyCode(randomKey(), [a.publicKey, b.publicKey, c.publicKey]));
  // Known answer, computed independently (Python's hashlib): SHA-256 over the label, the key and the
  // sorted keys, first 48 bits modulo 10^12. The code's definition is part of the protocol (decision 0010).
  assert.equal(await safetyCode(b64uDecode(SECRET), ["BAAA", "BCCC", "BBBB"]), "798 527 509 432");
});

test("a hand-over opens only for its newcomer, and only with its sender and recipient", async () => {
  const holder = await ecdhKeyPair();
  const newcomer = await ecdhKeyPair();
  const server = await ecdhKeyPair();
  const key = randomKey();
  const wrapped = await wrapRoom({
    privateKey: holder.privateKey, theirPublicKey: newcomer.publicKey, roomId: "r1", from: "H", to: "N",
    secret: SECRET, epoch: 4, key,
  });
  assert.ok(!JSON.stringify(wrapped).includes(SECRET));
  const opened = await unwrapRoom({ privateKey: newcomer.privateKey, theirPublicKey: holder.publicKey, roomId: "r1", from: "H", to: "N", ...wrapped });
  assert.deepEqual({ ...opened, key: hex(opened.key) }, { secret: SECRET, epoch: 4, key: hex(key) });
  // Someone else's private key, another recipient id, another room: nothing.
  assert.equal(await unwrapRoom({ privateKey: server.privateKey, theirPublicKey: holder.publicKey, roomId: "r1", from: "H", to: "N", ...wrapped }), null);
  assert.equal(await unwrapRoom({ privateKey: newcomer.privateKey, theirPublicKey: holder.publicKey, roomId: "r1", from: "H", to: "X", ...wrapped }), null);
  assert.equal(await unwrapRoom({ privateKey: newcomer.privateKey, theirPublicKey: holder.publicKey, roomId: "r2", from: "H", to: "N", ...wrapped }), null);
  assert.equal(await unwrapRoom({ privateKey: newcomer.privateKey, theirPublicKey: holder.publicKey, roomId: "r1", from: "H", to: "N", iv: wrapped.iv, ct: "AAAA" }), null);
});

test("a public key is accepted only with a tag made from the same room secret", async () => {
  const right = await roomKeys(SECRET, "r1");
  const wrong = await roomKeys(OTHER, "r1");
  const { publicKey } = await ecdhKeyPair();
  const tag = await helloTag(right.auth, "r1", "pid-aaaaaaaa", publicKey);
  assert.ok(await helloVerify(right.auth, "r1", "pid-aaaaaaaa", publicKey, tag));
  assert.ok(!(await helloVerify(right.auth, "r1", "pid-bbbbbbbb", publicKey, tag)));
  assert.ok(!(await helloVerify(wrong.auth, "r1", "pid-aaaaaaaa", publicKey, tag)));
  const forged = await helloTag(wrong.auth, "r1", "pid-aaaaaaaa", publicKey);
  assert.ok(!(await helloVerify(right.auth, "r1", "pid-aaaaaaaa", publicKey, forged)));
});

test("a wrapped media key opens only for its recipient", async () => {
  const leader = await ecdhKeyPair();
  const member = await ecdhKeyPair();
  const outsider = await ecdhKeyPair();
  const key = randomKey();
  const wrapped = await wrapMediaKey({
    privateKey: leader.privateKey, theirPublicKey: member.publicKey, roomId: "r1", from: "L", to: "M", index: 3, key,
  });
  const opened = await unwrapMediaKey({
    privateKey: member.privateKey, theirPublicKey: leader.publicKey, roomId: "r1", from: "L", to: "M", index: 3, ...wrapped,
  });
  assert.equal(hex(opened), hex(key));
  const stolen = await unwrapMediaKey({
    privateKey: outsider.privateKey, theirPublicKey: leader.publicKey, roomId: "r1", from: "L", to: "M", index: 3, ...wrapped,
  });
  assert.equal(stolen, null);
  const replayed = await unwrapMediaKey({
    privateKey: member.privateKey, theirPublicKey: leader.publicKey, roomId: "r1", from: "L", to: "M", index: 4, ...wrapped,
  });
  assert.equal(replayed, null);
});

test("chat text is sealed with the chat key and opens only with it", async () => {
  const right = await roomKeys(SECRET, "r1");
  const wrong = await roomKeys(OTHER, "r1");
  const sealed = await sealText(right.chat, "bonjour");
  assert.ok(!sealed.includes("bonjour"));
  assert.equal(await openText(right.chat, sealed), "bonjour");
  assert.equal(await openText(wrong.chat, sealed), null);
});
