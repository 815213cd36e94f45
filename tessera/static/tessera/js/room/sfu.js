// Rooms through the media server (decision 0011): one connection publishes this page's tracks to Janus,
// one receives everyone else's. Tessera's signaling relays both negotiations; every frame goes through the
// same E2EE transforms as in the mesh, so Janus forwards what it cannot read. Same events as Mesh.

// Chromium sends three layers only from 1280x720 on (two at 640x480): the camera is asked for that size.
const CAMERA = { width: { ideal: 1280 }, height: { ideal: 720 } };
// A layout change (a pin, a page turned, a resize) sends its layers once it has settled this long.
const LAYERS_SETTLE_MS = 150;
const MAX_LAYER_CHOICES = 200; // as the server accepts in one message (protocol.py)
// A shared screen: one layer, sharp text rather than motion, with more room than a camera's top layer.
const SCREEN_ENCODING = { maxBitrate: 2_500_000 };
const SIMULCAST = [
  { rid: "h", maxBitrate: 1_200_000 },
  { rid: "m", maxBitrate: 300_000, scaleResolutionDownBy: 2 },
  { rid: "l", maxBitrate: 100_000, scaleResolutionDownBy: 4 },
];

function vp8Only(transceiver) {
  const caps = RTCRtpSender.getCapabilities?.("video");
  if (!caps || !transceiver.setCodecPreferences) return;
  try {
    transceiver.setCodecPreferences(caps.codecs.filter((c) => /vp8/i.test(c.mimeType)));
  } catch {
    /* the browser's default order then */
  }
}

export class Sfu extends EventTarget {
  /** `holdCamera`: keep the camera's size until `raiseCamera()` (a room moving from the mesh, which
   * still encodes it once per participant, would otherwise encode them all at 1280x720 for a while). */
  constructor({ signaling, e2ee, media, holdCamera = false }) {
    super();
    Object.assign(this, { signaling, e2ee, media, holdCamera });
    this.pid = "";
    this.peers = new Map(); // pid -> a view of the subscription limited to that participant's tracks
    this.iceServers = [];
    this.iceTransportPolicy = "all";
    this.senders = {}; // "audio" | "video" -> RTCRtpSender
    this.mids = new Map(); // mid of the subscription -> pid whose stream it carries
    this.streams = new Map(); // pid -> MediaStream shown in that participant's tile
    this.pub = null;
    this.sub = null;
    this.screenPc = null; // a shared screen is a publisher of its own, in one high-quality layer
    this.screenMids = new Set(); // mids of the subscription that carry someone's screen
    this.screens = new Map(); // pid -> MediaStream of that participant's shared screen
    this.early = { pub: [], screen: [] }; // publisher candidates gathered before Janus answered
    this.answered = { pub: false, screen: false };
    this.wanted = {}; // pid -> the layer the layout wants of its camera (tiles.js wantedLayers)
    this.told = new Map(); // pid -> the layer the server was last told
  }

  /** The layout's layers; the changed ones go to the server together, once the layout settles. */
  setLayers(wanted) {
    this.wanted = wanted;
    clearTimeout(this.layersTimer);
    this.layersTimer = setTimeout(() => this.sendLayers(), LAYERS_SETTLE_MS);
  }

  sendLayers() {
    const changed = Object.entries(this.wanted).filter(([pid, layer]) => this.told.get(pid) !== layer);
    for (let i = 0; i < changed.length; i += MAX_LAYER_CHOICES) {
      const layers = changed.slice(i, i + MAX_LAYER_CHOICES).map(([pid, layer]) => ({ pid, layer }));
      this.signaling.send({ type: "sfu", action: "layers", layers });
    }
    for (const [pid, layer] of changed) this.told.set(pid, layer);
  }

  configuration() {
    return { iceServers: this.iceServers, iceTransportPolicy: this.iceTransportPolicy };
  }

  /** The welcome's ICE servers; the first call starts publishing and receiving. `epoch` names the room's
   * Janus room: a welcome from a node that made it again (this page resumed on another node) restarts. */
  configure({ iceServers, iceTransportPolicy, epoch = "", rejoined = false }) {
    this.iceServers = iceServers;
    // A welcome may come from another node after a reconnection: it knows none of our layers yet.
    this.told.clear();
    if (Object.keys(this.wanted).length) this.setLayers(this.wanted);
    if (iceTransportPolicy) this.iceTransportPolicy = iceTransportPolicy;
    // Joined again under a new id (the server dropped the old one): its Janus handles went with it.
    if (this.pub && rejoined) return this.restart(epoch, { force: true });
    if (this.pub && epoch && this.epoch && epoch !== this.epoch) return this.restart(epoch);
    if (epoch) this.epoch = epoch;
    if (this.pub) {
      for (const pc of [this.pub, this.sub]) pc.setConfiguration({ ...pc.getConfiguration(), ...this.configuration() });
      return;
    }
    this.start();
  }

  start() {
    this.sub = this.connection("sub");
    this.pub = this.connection("pub");
    this.pub.onnegotiationneeded = () => this.publish();
    for (const [slot, track] of this.media.senderTracks()) this.addSender(slot, track);
  }

  /** The room's Janus room was made again (its Janus was lost, or this page resumed on another node):
   * publish and subscribe afresh. Tiles keep their streams, whose tracks the new subscription replaces. */
  restart(epoch, { force = false } = {}) {
    if (epoch === this.epoch && !force) return;
    this.epoch = epoch;
    for (const pc of [this.pub, this.sub, this.screenPc]) pc?.close();
    this.screenPc = null;
    this.senders = {};
    this.mids = new Map();
    this.screenMids = new Set();
    this.early = { pub: [], screen: [] };
    this.answered = { pub: false, screen: false };
    this.publishing = false;
    this.again = false;
    this.told.clear();
    this.start(); // a shared screen too: it is among the media's sender tracks
    if (Object.keys(this.wanted).length) this.setLayers(this.wanted);
  }

  connection(side) {
    const pc = new RTCPeerConnection(this.configuration());
    pc.onicecandidate = ({ candidate }) => {
      if (candidate && !candidate.candidate) return; // the end of one generation: the null that follows says it all
      const json = candidate ? candidate.toJSON() : null;
      if (side !== "sub" && !this.answered[side]) this.early[side].push(json);
      else this.signaling.send({ type: "sfu", action: "candidate", side, candidate: json });
    };
    return pc;
  }

  addSender(slot, track) {
    if (slot === "screen") return this.shareScreen(track);
    if (!track) return;
    const init = { direction: "sendonly", streams: [this.media.stream] };
    if (track.kind === "video") {
      init.sendEncodings = SIMULCAST.map((e) => ({ ...e }));
      this.camera = track;
      if (!this.holdCamera) this.raiseCamera();
    }
    const transceiver = this.pub.addTransceiver(track, init);
    if (track.kind === "video") vp8Only(transceiver);
    this.e2ee.senderTransform(transceiver.sender, track.kind);
    this.senders[slot] = transceiver.sender;
  }

  /** Ask the camera for the size at which Chromium sends all three layers. */
  raiseCamera() {
    this.holdCamera = false;
    const track = this.camera;
    if (track && track.readyState === "live") track.applyConstraints({ ...track.getConstraints(), ...CAMERA }).catch(() => {});
  }

  /** Publish a shared screen on a connection of its own (Janus's `screen` side), or stop publishing it. */
  async shareScreen(track) {
    if (!track) {
      if (!this.screenPc) return;
      this.screenPc.close();
      this.screenPc = null;
      delete this.senders.screen;
      this.signaling.send({ type: "sfu", action: "unpublish", side: "screen" });
      return;
    }
    if (this.screenPc) return this.senders.screen.replaceTrack(track).catch(() => {});
    track.contentHint = "detail";
    const pc = (this.screenPc = this.connection("screen"));
    this.early.screen = [];
    this.answered.screen = false;
    const transceiver = pc.addTransceiver(track, { direction: "sendonly", sendEncodings: [{ ...SCREEN_ENCODING }] });
    vp8Only(transceiver);
    this.e2ee.senderTransform(transceiver.sender, "video");
    this.senders.screen = transceiver.sender;
    try {
      await pc.setLocalDescription(await pc.createOffer());
      if (this.screenPc !== pc) return; // unshared meanwhile
      this.signaling.send({ type: "sfu", action: "publish", side: "screen", sdp: pc.localDescription.sdp });
    } catch (error) {
      console.warn("screen", error);
    }
  }

  /** Offer what this page sends; Janus's answer comes back as an `sfu` message. */
  async publish() {
    if (this.publishing) {
      this.again = true;
      return;
    }
    this.publishing = true;
    try {
      await this.pub.setLocalDescription(await this.pub.createOffer());
      const answered = new Promise((resolve) => (this.onAnswer = resolve));
      this.signaling.send({ type: "sfu", action: "publish", sdp: this.pub.localDescription.sdp });
      await Promise.race([answered, new Promise((resolve) => setTimeout(resolve, 15000))]);
    } catch (error) {
      console.warn("publish", error);
    } finally {
      this.publishing = false;
      if (this.again) {
        this.again = false;
        this.publish();
      }
    }
  }

  async onSfu(m) {
    if (m.action === "restart") return this.restart(m.epoch);
    if (m.action === "answer") {
      const side = m.side === "screen" ? "screen" : "pub";
      const pc = side === "screen" ? this.screenPc : this.pub;
      if (!pc) return; // a screen unshared before Janus answered
      await pc.setRemoteDescription({ type: "answer", sdp: m.sdp });
      if (!this.answered[side]) {
        this.answered[side] = true;
        for (const candidate of this.early[side].splice(0)) this.signaling.send({ type: "sfu", action: "candidate", side, candidate });
      }
      if (side === "pub") this.onAnswer?.();
    } else if (m.action === "offer") {
      this.mids = new Map(m.streams.map((s) => [s.mid, s.pid]));
      this.screenMids = new Set(m.streams.filter((s) => s.screen).map((s) => s.mid));
      await this.sub.setRemoteDescription({ type: "offer", sdp: m.sdp });
      this.attach(); // transforms in place before Janus starts sending on a new m-line
      await this.sub.setLocalDescription(await this.sub.createAnswer());
      this.signaling.send({ type: "sfu", action: "answer", sdp: this.sub.localDescription.sdp });
    }
  }

  /** Each received track to its participant's stream, as the mesh's "track" event does. */
  attach() {
    for (const transceiver of this.sub.getTransceivers()) {
      const pid = this.mids.get(transceiver.mid);
      if (!pid || transceiver.stopped) continue;
      const { receiver } = transceiver;
      const track = receiver.track;
      if (!receiver.transform) this.e2ee.receiverTransform(receiver, track.kind);
      const screen = this.screenMids.has(transceiver.mid);
      const streams = screen ? this.screens : this.streams;
      let stream = streams.get(pid);
      if (!stream) streams.set(pid, (stream = new MediaStream()));
      if (stream.getTracks().includes(track)) continue;
      for (const old of stream.getTracks()) if (old.kind === track.kind) stream.removeTrack(old);
      stream.addTrack(track);
      this.add(pid);
      this.dispatchEvent(new CustomEvent("track", { detail: { pid, track, stream, kind: screen ? "screen" : "camera" } }));
    }
  }

  /** What quality.js and speaker.js read of one participant: the subscription, limited to its tracks. */
  view(pid) {
    const sfu = this;
    return {
      pc: {
        get connectionState() {
          return sfu.sub.connectionState;
        },
        getStats: () => sfu.sub.getStats(),
        getReceivers: () => sfu.sub.getTransceivers().filter((t) => sfu.mids.get(t.mid) === pid).map((t) => t.receiver),
        getSenders: () => [],
      },
    };
  }

  add(pid) {
    if (!this.peers.has(pid)) this.peers.set(pid, this.view(pid));
    return this.peers.get(pid);
  }

  remove(pid) {
    this.peers.delete(pid);
    this.streams.delete(pid);
    this.screens.delete(pid);
    this.told.delete(pid);
    delete this.wanted[pid];
  }

  setTrack(slot, track) {
    if (slot === "screen") return this.pub ? this.shareScreen(track) : undefined;
    const sender = this.senders[slot];
    if (sender) sender.replaceTrack(track).catch(() => {});
    else if (this.pub) this.addSender(slot, track); // renegotiation publishes it
  }

  // The mesh's signals between participants do not exist here; the server keeps Janus's side.
  async handle() {}
  restartIce() {}
  resumed() {}
  peerResumed() {}

  closeAll() {
    this.pub?.close();
    this.sub?.close();
    this.screenPc?.close();
    this.screenPc = null;
    this.peers.clear();
  }
}
