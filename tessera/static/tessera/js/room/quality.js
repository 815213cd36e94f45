// Call quality: each peer's figures on its tiles, and their aggregate sent to the server now and then.
import { aggregate, quality, uplinkPoor } from "./stats.js";

/** `stats` is the room's StatsCollector (which forgets who left). Look every 2 s at most; send the aggregate every `everyMs` (only numbers, never any content); tell `onUplink` whether what we send suffers. */
export function watchQuality({ mesh, stage, signaling, stats, everyMs, onUplink = () => {} }) {
  let sentAt = performance.now();
  const timer = setInterval(async () => {
    const figures = [];
    for (const [pid, peer] of mesh.peers) {
      if (peer.pc.connectionState === "closed") continue;
      try {
        const f = await stats.peer(pid, peer.pc);
        figures.push(f);
        for (const tile of stage.ofPeer(pid)) tile.dataset.quality = quality(f);
      } catch {
        /* closed meanwhile */
      }
    }
    if (figures.length) onUplink(uplinkPoor(figures));
    if (figures.length && performance.now() - sentAt >= everyMs - 500) {
      sentAt = performance.now();
      signaling.send(aggregate(figures));
    }
  }, Math.min(2000, everyMs));
  return timer;
}
