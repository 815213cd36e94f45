// Peer-to-peer mesh: one RTCPeerConnection per other participant, perfect negotiation, ICE restarts.
// Every sender and receiver goes through the E2EE transform before any media flows.

function preferVp8(pc) {
  const caps = RTCRtpReceiver.getCapabilities?.("video");
  if (!caps) return;
  const vp8 = caps.codecs.filter((c) => /vp8/i.test(c.mimeType));
  const rest = caps.codecs.filter((c) => /rtx/i.test(c.mimeType));
  for (const transceiver of pc.getTransceivers()) {
    if (transceiver.receiver.track.kind === "video" && transceiver.setCodecPreferences && !transceiver.stopped) {
      try {
        transceiver.setCodecPreferences([...vp8, ...rest]);
      } catch {
        /* not yet negotiable */
      }
    }
  }
}

/** Bitrate and resolution per sender as the room grows, so that a mesh of 8 stays usable. */
export function videoBudget(peerCount) {
  if (peerCount <= 1) return { maxBitrate: 1_200_000, scaleResolutionDownBy: 1 };
  if (peerCount <= 3) return { maxBitrate: 600_000, scaleResolutionDownBy: 1.5 };
  return { maxBitrate: 300_000, scaleResolutionDownBy: 2 };
}

class Peer {
  constructor(mesh, pid, polite) {
    this.mesh = mesh;
    this.pid = pid;
    this.polite = polite;
    this.makingOffer = false;
    this.ignoreOffer = false;
    this.senders = {}; // "audio" | "video" | "screen" -> RTCRtpSender
    this.early = []; // candidates that came before a remote description they could belong to
    this.disconnectTimer = null;
    this.offerQueued = false; // the pending offer waits in the signaling backlog, to be sent on resume
    const pc = (this.pc = new RTCPeerConnection(mesh.configuration()));
    pc.onnegotiationneeded = async () => {
      try {
        this.makingOffer = true;
        preferVp8(pc);
        await pc.setLocalDescription();
        this.offerQueued = mesh.signal(pid, { description: pc.localDescription.toJSON() }) === "queued";
      } catch (error) {
        console.warn("negotiation", error);
      } finally {
        this.makingOffer = false;
      }
    };
    pc.onicecandidate = ({ candidate }) => {
      if (candidate && candidate.candidate) mesh.signal(pid, { candidate: candidate.toJSON() });
    };
    pc.ontrack = (event) => {
      if (!event.receiver.transform) mesh.e2ee.receiverTransform(event.receiver, event.track.kind);
      mesh.dispatchEvent(new CustomEvent("track", { detail: { pid, track: event.track, stream: event.streams[0] } }));
    };
    pc.onconnectionstatechange = () => {
      const state = pc.connectionState;
      mesh.dispatchEvent(new CustomEvent("state", { detail: { pid, state } }));
      clearTimeout(this.disconnectTimer);
      if (state === "failed") this.restart();
      else if (state === "disconnected") this.disconnectTimer = setTimeout(() => this.restart(), 1500);
    };
    for (const [slot, track, stream] of mesh.localTracks()) this.setTrack(slot, track, stream);
    // A connection negotiated but never connecting (candidates lost in a glare) restarts ICE; an offer
    // never answered (lost with a dropped connection) is rolled back and made again.
    this.stuck = 0;
    this.unanswered = 0;
    this.watchdog = setInterval(() => {
      const waiting = pc.signalingState === "stable" && pc.remoteDescription && ["new", "checking"].includes(pc.iceConnectionState);
      this.stuck = waiting ? this.stuck + 1 : 0;
      if (this.stuck >= (this.polite ? 5 : 3)) {
        this.stuck = 0;
        this.restart();
      }
      const offering = pc.signalingState === "have-local-offer" && !this.makingOffer && mesh.signaling.connected;
      this.unanswered = offering ? this.unanswered + 1 : 0;
      if (this.unanswered >= (this.polite ? 6 : 4)) {
        this.unanswered = 0;
        this.renegotiate();
      }
    }, 1000);
  }

  setTrack(slot, track, stream) {
    const sender = this.senders[slot];
    if (sender) {
      sender.replaceTrack(track).catch(() => {});
      return;
    }
    if (!track) return;
    // addTrack would take over a receive-only transceiver the peer's offer made (a camera started
    // after joining without one), and Chromium then decodes none of its frames: use a fresh one.
    const ours = new Set(Object.values(this.senders));
    const taken = this.pc.getTransceivers().some((t) => !t.stopped && t.receiver.track.kind === track.kind && !ours.has(t.sender));
    const added = taken ? this.pc.addTransceiver(track, { direction: "sendrecv", streams: [stream] }).sender : this.pc.addTrack(track, stream);
    this.mesh.e2ee.senderTransform(added, track.kind);
    // Chromium feeds no frame to a receiver transform set later (in ontrack) on a transceiver made here.
    const transceiver = this.pc.getTransceivers().find((t) => t.sender === added);
    if (transceiver && !transceiver.receiver.transform) this.mesh.e2ee.receiverTransform(transceiver.receiver, track.kind);
    this.senders[slot] = added;
    this.budget(this.mesh.peers.size);
  }

  async budget(peerCount) {
    const sender = this.senders.video;
    if (!sender) return;
    const params = sender.getParameters();
    if (!params.encodings || !params.encodings.length) return;
    Object.assign(params.encodings[0], videoBudget(peerCount));
    try {
      await sender.setParameters(params);
    } catch {
      /* applied at the next negotiation */
    }
  }

  restart() {
    if (this.pc.signalingState !== "closed") this.pc.restartIce();
  }

  /** Withdraw an offer that will get no answer; `restart` offers again, with an ICE restart. */
  async renegotiate({ restart = true } = {}) {
    const pc = this.pc;
    if (pc.signalingState === "have-local-offer" && !this.makingOffer) {
      try {
        await pc.setLocalDescription({ type: "rollback" });
      } catch (error) {
        console.warn("rollback", error);
      }
    }
    if (restart) this.restart();
  }

  /**
   * A signaling connection came back. The side whose connection it was restarts ICE (its queued offer,
   * if any, went out with the backlog); the other side only withdraws an offer the server dropped and
   * waits for that restart, so that the two do not offer at once.
   */
  resumed({ ours }) {
    if (ours && this.offerQueued) this.restart();
    else this.renegotiate({ restart: ours });
  }

  async handle({ description, candidate }) {
    const pc = this.pc;
    if (description) {
      // An answer to an offer rolled back meanwhile: the new offer will get its own.
      if (description.type === "answer" && pc.signalingState !== "have-local-offer") return;
      const collision = description.type === "offer" && (this.makingOffer || pc.signalingState !== "stable");
      this.ignoreOffer = !this.polite && collision;
      if (this.ignoreOffer) return;
      await pc.setRemoteDescription(description);
      await this.flush();
      if (description.type === "offer") {
        preferVp8(pc);
        await pc.setLocalDescription();
        this.mesh.signal(this.pid, { description: pc.localDescription.toJSON() });
      } else {
        this.offerQueued = false;
      }
      this.budget(this.mesh.peers.size);
    } else if (candidate) {
      // In a glare, the polite side's candidates may come before the answer that uses them: keep them.
      if (!pc.remoteDescription || this.ignoreOffer) {
        this.early.push(candidate);
        return;
      }
      try {
        await pc.addIceCandidate(candidate);
      } catch (error) {
        if (!this.ignoreOffer) console.warn("candidate", error);
      }
    }
  }

  async flush() {
    const early = this.early.splice(0);
    for (const candidate of early) await this.pc.addIceCandidate(candidate).catch(() => {});
  }

  close() {
    clearTimeout(this.disconnectTimer);
    clearInterval(this.watchdog);
    this.pc.close();
  }
}

export class Mesh extends EventTarget {
  constructor({ signaling, e2ee, iceServers, iceTransportPolicy = "all", media }) {
    super();
    Object.assign(this, { signaling, e2ee, iceServers, iceTransportPolicy, media });
    this.pid = "";
    this.peers = new Map();
  }

  configuration() {
    return { iceServers: this.iceServers, iceTransportPolicy: this.iceTransportPolicy };
  }

  /** Fresh TURN credentials (they expire) for the next ICE gathering of every connection. */
  configure({ iceServers, iceTransportPolicy }) {
    this.iceServers = iceServers;
    if (iceTransportPolicy) this.iceTransportPolicy = iceTransportPolicy;
    for (const peer of this.peers.values()) {
      try {
        peer.pc.setConfiguration({ ...peer.pc.getConfiguration(), ...this.configuration() });
      } catch (error) {
        console.warn("configuration", error);
      }
    }
  }

  localTracks() {
    return this.media.senderTracks();
  }

  signal(to, data) {
    return this.signaling.send({ type: "signal", to, ...data });
  }

  add(pid) {
    if (this.peers.has(pid)) return this.peers.get(pid);
    const peer = new Peer(this, pid, this.pid > pid);
    this.peers.set(pid, peer);
    this.adapt();
    return peer;
  }

  remove(pid) {
    const peer = this.peers.get(pid);
    if (!peer) return;
    peer.close();
    this.peers.delete(pid);
    this.adapt();
  }

  async handle(from, message) {
    const peer = this.add(from);
    try {
      await peer.handle(message);
    } catch (error) {
      console.warn("signal", error);
    }
  }

  setTrack(slot, track, stream) {
    for (const peer of this.peers.values()) peer.setTrack(slot, track, stream);
  }

  adapt() {
    for (const peer of this.peers.values()) peer.budget(this.peers.size);
  }

  restartIce() {
    for (const peer of this.peers.values()) peer.restart();
  }

  /** Our signaling connection resumed: offers sent into the dropped one are made again. */
  resumed() {
    for (const peer of this.peers.values()) peer.resumed({ ours: true });
  }

  /** A peer's connection resumed: whatever we sent it meanwhile was dropped by the server. */
  peerResumed(pid) {
    this.peers.get(pid)?.resumed({ ours: false });
  }

  closeAll() {
    for (const pid of [...this.peers.keys()]) this.remove(pid);
  }
}
