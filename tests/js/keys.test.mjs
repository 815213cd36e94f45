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
  wrapMediaKey,
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
  assert.match(code, /^\d{3} \d{3} \d{3}$/);
  assert.equal(code, await safetyCode((await roomKeys(SECRET, "room-abc")).media));
  assert.notEqual(code, await safetyCode(randomKey()));
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
