// Speaker detection: who is heard most, from the audio energy each receiver reports. Pure, but `watchSpeakers`.

export const SPEAKING_LEVEL = 0.02; // below this, a voice is silence or noise
export const HOLD_MS = 1500; // a pause between words keeps the highlight

/** The level over the interval between two looks (`{ energy, duration }`), not the latest packet's. */
export function levelBetween(before, now) {
  if (!now || !before || now.duration <= before.duration) return 0;
  return Math.sqrt(Math.max(0, now.energy - before.energy) / (now.duration - before.duration));
}

/**
 * The participant to highlight, or null. `heard` lists [pid, level] in the order looked at; `spokeAt`
 * (pid -> when their voice was last above the threshold) is updated; `present(pid)` says who is still here.
 */
export function pickSpeaker({ heard, current, spokeAt, present, now }) {
  let best = null;
  let level = SPEAKING_LEVEL;
  for (const [pid, value] of heard) {
    if (value > SPEAKING_LEVEL) spokeAt.set(pid, now);
    if (value > level) {
      level = value;
      best = pid;
    }
  }
  // Pauses between words keep the highlight where it is for a moment instead of flickering.
  if (!best && current && now - (spokeAt.get(current) || 0) < HOLD_MS && present(current)) best = current;
  return best;
}

/** Look every 400 ms and tell `onSpeaker` when the highlighted participant changes. */
export function watchSpeakers(mesh, { current, onSpeaker }) {
  const spokeAt = new Map();
  const energy = new Map(); // receiver -> { energy, duration } at the last look
  const levelSince = async (receiver) => {
    let now = null;
    for (const stat of (await receiver.getStats()).values()) {
      if (stat.type === "inbound-rtp") now = { energy: stat.totalAudioEnergy || 0, duration: stat.totalSamplesDuration || 0 };
    }
    if (!now) return 0;
    const before = energy.get(receiver);
    energy.set(receiver, now);
    return levelBetween(before, now);
  };
  let looking = false;
  return setInterval(async () => {
    if (looking) return; // a slow look is not stacked on another
    looking = true;
    try {
      const heard = [];
      const now = performance.now();
      for (const [pid, peer] of mesh.peers) {
        for (const receiver of peer.pc.getReceivers()) {
          if (receiver.track.kind !== "audio") continue;
          heard.push([pid, await levelSince(receiver)]);
        }
      }
      const best = pickSpeaker({ heard, current: current(), spokeAt, present: (pid) => mesh.peers.has(pid), now });
      if (best !== current()) onSpeaker(best);
    } finally {
      looking = false;
    }
  }, 400);
}
