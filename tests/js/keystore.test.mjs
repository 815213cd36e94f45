import assert from "node:assert/strict";
import { webcrypto } from "node:crypto";
import { test } from "node:test";

// Debian 12 ships Node.js 18, where the Web Crypto API is not yet a global.
globalThis.crypto ??= webcrypto;

class MemoryStorage {
  constructor() {
    this.items = new Map();
  }
  get length() {
    return this.items.size;
  }
  key(i) {
    return [...this.items.keys()][i] ?? null;
  }
  getItem(name) {
    return this.items.has(name) ? this.items.get(name) : null;
  }
  setItem(name, value) {
    this.items.set(name, String(value));
  }
  removeItem(name) {
    this.items.delete(name);
  }
}

globalThis.window = { localStorage: new MemoryStorage(), sessionStorage: new MemoryStorage() };
const { secretMake } = await import("../../tessera/static/tessera/js/meetings/fragment.js");
const { keyGet, keyPut, keysSweep, pendingPut, pendingTake } = await import(
  "../../tessera/static/tessera/js/meetings/keystore.js"
);

const later = new Date(Date.now() + 86_400_000).toISOString();
const earlier = new Date(Date.now() - 1000).toISOString();

test("a key is kept per room until its date, then swept", () => {
  const [a, b] = [secretMake(), secretMake()];
  assert.notEqual(a, b);
  assert.equal(keyPut("room-a", a, later), true);
  assert.equal(keyPut("room-b", b, earlier), true);
  window.localStorage.setItem("tessera.meetingKey.room-c", "{not json");
  window.localStorage.setItem("other.thing", "kept");
  assert.equal(keyGet("room-a"), a);
  assert.equal(keyGet("room-b"), ""); // expired: never used, even before the sweep
  keysSweep();
  assert.deepEqual([...window.localStorage.items.keys()].sort(), ["other.thing", "tessera.meetingKey.room-a"]);
});

test("only a well-formed key is stored or taken", () => {
  assert.equal(keyPut("room-x", "short", later), false);
  assert.equal(keyGet("room-x"), "");
  pendingPut("pending", "not a key");
  assert.equal(pendingTake("pending"), "");
  const secret = secretMake();
  pendingPut("pending", secret);
  assert.equal(pendingTake("pending"), secret);
  assert.equal(pendingTake("pending"), ""); // taken once
});
