import assert from "node:assert/strict";
import { test } from "node:test";

import { HOLD_MS, levelBetween, pickSpeaker, SPEAKING_LEVEL } from "../../tessera/static/tessera/js/room/speaker.js";

const everyone = () => true;

test("the level is the energy received over the interval, not the latest packet's", () => {
  assert.equal(levelBetween(null, { energy: 1, duration: 1 }), 0);
  assert.equal(levelBetween({ energy: 1, duration: 2 }, { energy: 1, duration: 2 }), 0);
  assert.equal(levelBetween({ energy: 0, duration: 0 }, { energy: 0.25, duration: 1 }), 0.5);
  // A counter that went back (a new receiver) is silence, not a negative square root.
  assert.equal(levelBetween({ energy: 2, duration: 1 }, { energy: 1, duration: 2 }), 0);
});

test("the loudest voice above the threshold is highlighted, and everyone heard is remembered", () => {
  const spokeAt = new Map();
  const best = pickSpeaker({ heard: [["a", 0.05], ["b", 0.3], ["c", 0.01]], current: null, spokeAt, present: everyone, now: 100 });
  assert.equal(best, "b");
  assert.deepEqual([...spokeAt.keys()].sort(), ["a", "b"]);
});

test("a level at the threshold is silence", () => {
  const spokeAt = new Map();
  assert.equal(pickSpeaker({ heard: [["a", SPEAKING_LEVEL]], current: null, spokeAt, present: everyone, now: 0 }), null);
  assert.equal(spokeAt.size, 0);
});

test("on a tie the first participant looked at keeps it", () => {
  const best = pickSpeaker({ heard: [["a", 0.2], ["b", 0.2]], current: null, spokeAt: new Map(), present: everyone, now: 0 });
  assert.equal(best, "a");
});

test("a pause between words keeps the highlight, a longer silence drops it", () => {
  const spokeAt = new Map([["a", 1000]]);
  const quiet = { heard: [["a", 0]], current: "a", spokeAt, present: everyone };
  assert.equal(pickSpeaker({ ...quiet, now: 1000 + HOLD_MS - 1 }), "a");
  assert.equal(pickSpeaker({ ...quiet, now: 1000 + HOLD_MS }), null);
});

test("someone who left is not held", () => {
  const spokeAt = new Map([["a", 1000]]);
  assert.equal(pickSpeaker({ heard: [], current: "a", spokeAt, present: () => false, now: 1001 }), null);
});

test("a louder voice takes the highlight at once", () => {
  const spokeAt = new Map([["a", 1000]]);
  assert.equal(pickSpeaker({ heard: [["a", 0.03], ["b", 0.5]], current: "a", spokeAt, present: everyone, now: 1001 }), "b");
});
