// Connection quality: per-peer figures for the tile indicator, and an aggregate sent every 10 s.
// Only numbers leave the browser, never any content.

export function quality({ lossPct, rttMs }) {
  if (lossPct == null && rttMs == null) return "unknown";
  if ((lossPct ?? 0) > 8 || (rttMs ?? 0) > 400) return "poor";
  if ((lossPct ?? 0) > 2 || (rttMs ?? 0) > 200) return "fair";
  return "good";
}

export class StatsCollector {
  constructor() {
    this.previous = new Map(); // pid -> { at, bytesIn, bytesOut, lost, received }
  }

  async peer(pid, pc) {
    const report = await pc.getStats();
    let bytesIn = 0, bytesOut = 0, lost = 0, received = 0, jitter = null, rtt = null;
    let width = 0, height = 0, fps = 0, framesDecoded = 0, audioEnergy = 0;
    let remoteLoss = null; // what we send, lost on its way (as the receiver reports it)
    report.forEach((s) => {
      if (s.type === "inbound-rtp") {
        bytesIn += s.bytesReceived || 0;
        lost += s.packetsLost || 0;
        received += s.packetsReceived || 0;
        if (s.jitter != null) jitter = Math.max(jitter ?? 0, s.jitter * 1000);
        if (s.kind === "video") {
          width = Math.max(width, s.frameWidth || 0);
          height = Math.max(height, s.frameHeight || 0);
          fps = Math.max(fps, s.framesPerSecond || 0);
          framesDecoded += s.framesDecoded || 0;
        } else if (s.kind === "audio") {
          audioEnergy += s.totalAudioEnergy || 0;
        }
      } else if (s.type === "outbound-rtp") {
        bytesOut += s.bytesSent || 0;
      } else if (s.type === "remote-inbound-rtp" && s.fractionLost != null) {
        remoteLoss = Math.max(remoteLoss ?? 0, s.fractionLost * 100);
      } else if (s.type === "candidate-pair" && s.nominated && s.state === "succeeded" && s.currentRoundTripTime != null) {
        rtt = s.currentRoundTripTime * 1000;
      }
    });
    const now = performance.now();
    const before = this.previous.get(pid);
    this.previous.set(pid, { at: now, bytesIn, bytesOut, lost, received });
    const seconds = before ? (now - before.at) / 1000 : 0;
    const kbps = (a, b) => (seconds > 0 ? Math.max(0, ((a - b) * 8) / 1000 / seconds) : 0);
    const dLost = before ? lost - before.lost : 0;
    const dReceived = before ? received - before.received : 0;
    const lossPct = dLost + dReceived > 0 ? (100 * Math.max(0, dLost)) / (dLost + dReceived) : before ? 0 : null;
    return {
      bitrateIn: before ? kbps(bytesIn, before.bytesIn) : 0,
      bitrateOut: before ? kbps(bytesOut, before.bytesOut) : 0,
      rttMs: rtt, jitterMs: jitter, lossPct, width, height, fps, framesDecoded, audioEnergy, remoteLoss,
    };
  }

  forget(pid) {
    this.previous.delete(pid);
  }
}

/** Our own uplink suffers: most peers lose much of what we send, or wait too long for it. One peer's bad
 * line is theirs, not ours; the browser's own bit-rate caps are not counted. */
export function uplinkPoor(figures) {
  const bad = figures.filter((f) => (f.remoteLoss ?? 0) > 10 || (f.rttMs ?? 0) > 800);
  return figures.length > 0 && bad.length * 2 > figures.length;
}

/** The aggregate the server stores: sums of bit rates, worst delay and loss, best picture. */
export function aggregate(figures) {
  const list = [...figures];
  const max = (key) => list.reduce((m, f) => (f[key] == null ? m : Math.max(m ?? 0, f[key])), null);
  const round = (v) => (v == null ? null : Math.round(v * 10) / 10);
  return {
    type: "stats",
    bitrate_in_kbps: round(list.reduce((n, f) => n + f.bitrateIn, 0)),
    bitrate_out_kbps: round(list.reduce((n, f) => n + f.bitrateOut, 0)),
    rtt_ms: round(max("rttMs")),
    jitter_ms: round(max("jitterMs")),
    loss_pct: round(max("lossPct") == null ? null : Math.min(100, max("lossPct"))),
    width: max("width") ?? 0,
    height: max("height") ?? 0,
    fps: round(max("fps") ?? 0),
    peers: list.length,
  };
}
