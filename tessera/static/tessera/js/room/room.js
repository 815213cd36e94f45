// The live room page: the coordinator of signaling, mesh and end-to-end encryption. Each concern of the
// page (pre-join, controls, chat, lobby, recording, layout, quality and speaker detection) is its own module.
import { watchLink } from "../meetings/join.js";
import { chat } from "./chat.js";
import { controls } from "./controls.js";
import { loadCatalog, t } from "./i18n.js";
import { openText, ROOM_SECRET, sealText } from "./keys.js";
import { layout } from "./layout.js";
import { lobby } from "./lobby.js";
import { LocalMedia } from "./media.js";
import { $, app, finish, show } from "./page.js";
import { Mesh } from "./peers.js";
import { prejoin } from "./prejoin.js";
import { Close, ErrorCode, FINAL_ERRORS } from "./protocol.js";
import { watchQuality } from "./quality.js";
import { people } from "./people.js";
import { recording } from "./recording.js";
import { Sfu } from "./sfu.js";
import { Signaling } from "./signaling.js";
import { watchSpeakers } from "./speaker.js";
import { StatsCollector } from "./stats.js";
import { Stage } from "./tiles.js";
import { toolbar } from "./toolbar.js";

// A room moving to the media server: how long a tile waits for its stream through Janus before moving
// anyway (the mesh closes for good after twice this).
const MOVE_WAIT_MS = 8000;
const MOVE_POLL_MS = 200;

// `#<token>` or `#o.<manage-token>` hold no key: a participant hands it over in the room (decision 0010).
// With `.<room-secret>` after the token, the link carries the key.
function parseFragment(hash) {
  const parts = hash.replace(/^#/, "").split(".");
  const organiser = parts[0] === "o";
  const [token, secret = "", ...rest] = organiser ? parts.slice(1) : parts;
  if (!token || rest.length || (secret && !ROOM_SECRET.test(secret))) return null;
  return { kind: organiser ? "organiser" : "invite", token, secret };
}

class Room {
  constructor(link) {
    this.link = link;
    this.roomId = app.dataset.roomId;
    this.media = new LocalMedia();
    this.names = new Map(); // pid -> display name (decrypted)
    this.sealedNames = new Map(); // pid -> display name as the server relays it (sealed)
    this.states = new Map(); // pid -> { audio, video, screen, hand }
    this.hand = false;
    this.stats = new StatsCollector();
    this.queue = Promise.resolve();
    this.recorder = null;
    this.recording = null;
    this.stage = new Stage($("stage"), $("tile-template"), { previous: t("previous_page"), next: t("next_page"), page: t("page_of") });
    this.plaintext = app.dataset.plaintextAllowed === "true" && new URLSearchParams(location.search).get("e2ee") === "off";
  }

  async join({ audio, video }) {
    await this.started;
    if (this.stopMeter) this.stopMeter();
    if (!audio && this.media.audioTrack) this.media.replace("audio", null);
    if (!video && this.media.videoTrack) this.media.replace("video", null);
    this.media.audioOn = audio && !!this.media.audioTrack;
    this.media.videoOn = video && !!this.media.videoTrack;
    const name = ($("display-name").value || "").trim().slice(0, 60);
    this.typedName = name;
    this.myName = name || t("you");
    this.signaling = new Signaling({
      url: `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}${app.dataset.wsPath}`,
      kind: this.link.kind,
      token: this.link.token,
      // Without the key yet, the name follows sealed in our state once a participant hands the key over.
      name: this.keys ? await sealText(this.keys.chat, JSON.stringify({ name })) : "",
    });
    this.mesh = new Mesh({
      signaling: this.signaling,
      e2ee: this.e2ee,
      iceServers: [], // servers and policy come with the welcome, before any peer connection is made
      media: this.media,
    });
    const mesh = this.mesh;
    // Once the room moves to the media server, the mesh's tracks no longer take a tile back.
    mesh.addEventListener("track", ({ detail }) => this.mesh === mesh && this.onTrack(detail));
    this.media.addEventListener("track", ({ detail }) => {
      const stream = detail.slot === "screen" ? this.media.screenStream : this.media.stream;
      this.mesh.setTrack(detail.slot, detail.track, stream);
      this.meshBefore?.setTrack(detail.slot, detail.track, stream); // still sending while the room moves
      this.localTiles();
      this.broadcastState();
    });
    this.signaling.addEventListener("message", ({ detail }) => {
      this.queue = this.queue.then(() => this.onMessage(detail)).catch((e) => console.warn(e));
    });
    this.signaling.addEventListener("reconnecting", () => ($("connection-status").hidden = false));
    this.signaling.addEventListener("closed", ({ detail }) => this.onClosed(detail.code));
    this.bindControls();
    show("connecting");
    this.signaling.connect();
    window.addEventListener("online", () => this.networkChanged());
    navigator.connection?.addEventListener?.("change", () => this.networkChanged());
  }

  networkChanged() {
    this.signaling.reconnect();
    this.mesh.restartIce();
  }

  async onMessage(m) {
    switch (m.type) {
      case "lobby":
        show("lobby");
        break;
      case "welcome":
        return this.onWelcome(m);
      case "peer_joined":
        await this.peerName(m.peer);
        // The newcomer makes the first offer; answering it here avoids a glare on every join.
        await this.e2ee.peerJoined(m.peer);
        this.renderPeer(m.peer.pid);
        this.broadcastState(m.peer.pid);
        break;
      case "peer_left":
        this.dropPeer(m.pid);
        await this.e2ee.peerLeft(m.pid);
        break;
      case "peer_resumed":
        // The server dropped what we sent this peer during its gap: offers and keys go again.
        this.mesh.peerResumed(m.pid);
        await this.e2ee.peerResumed(m.pid);
        break;
      case "signal":
        // After a move to the media server, the mesh's last signals go to the connections still open.
        if (this.meshBefore?.peers.has(m.from)) await this.meshBefore.handle(m.from, m);
        else if (!(this.mesh instanceof Sfu)) await this.mesh.handle(m.from, m);
        break;
      case "topology":
        if (m.topology === "sfu") this.moveToSfu(m.epoch);
        break;
      case "sfu":
        await this.mesh.onSfu?.(m);
        break;
      case "e2ee":
        await this.e2ee.receive(m.from, m.payload);
        break;
      case "app":
        return this.onApp(m.from, m.payload);
      case "lobby_update":
        return this.renderLobby(m.waiting);
      case "locked":
        $("locked-indicator").hidden = !m.locked;
        $("lock-button").setAttribute("aria-pressed", String(m.locked));
        break;
      case "mute_request":
        await this.media.setAudio(false);
        this.syncButtons();
        this.broadcastState();
        this.toast(t("muted_by_organiser"));
        break;
      case "record_notice":
        return this.onRecordNotice(m);
      case "record_pending":
        this.toast(t("record_waiting", { count: m.waiting }));
        break;
      case "record_answer":
        if (!m.accept) this.toast(t("record_refused", { name: this.names.get(m.pid) || "?" }));
        break;
      case "recording":
        return this.onRecording(m);
      case "removed":
      case "ended":
      case "denied":
      case "left":
        this.final = m.type === "left" ? m.reason || "left" : m.type;
        this.signaling.stopped = true; // the server closes next: no reconnection
        break;
      case "error":
        this.onError(m);
        break;
    }
  }

  onError(m) {
    // Refused at the door for too many attempts: reconnecting at once would only be refused again.
    const refusedAtDoor = m.code === ErrorCode.RATE_LIMITED && !this.me;
    if (FINAL_ERRORS.has(m.code) || refusedAtDoor) {
      this.final = m.code === ErrorCode.REPLACED ? "left" : m.code;
      this.signaling.stopped = true;
    } else if (m.code !== ErrorCode.RATE_LIMITED) {
      console.warn("signaling error", m.code, m.message);
    }
  }

  onClosed(code) {
    this.leaveMedia();
    const outcome = this.final || (code === Close.FULL ? ErrorCode.ROOM_FULL : "disconnected");
    finish(`closed_${outcome}`, `closed_${outcome}_text`);
  }

  leaveMedia() {
    if (this.recorder) this.stopRecorder();
    this.mesh?.closeAll();
    this.meshBefore?.closeAll();
    this.media.stopAll();
  }

  dropPeer(pid) {
    this.mesh.remove(pid);
    this.meshBefore?.remove(pid);
    this.moving?.delete(pid);
    this.theyMoved?.delete(pid);
    this.stage.drop(pid);
    this.stats.forget(pid);
    this.names.delete(pid);
    this.states.delete(pid);
    this.handOrder?.delete(pid);
    this.schedulePeople();
    for (const key of [...(this.streams || new Map()).keys()]) if (key.startsWith(`${pid}:`)) this.streams.delete(key);
  }

  async onWelcome(m) {
    // A fresh welcome while in the room: our node was lost and another made the room again. Everyone
    // comes back under a new id; the old ones, tiles and connections, go now.
    const rejoined = !m.resumed && !!this.me && this.me.pid !== m.pid;
    if (rejoined) {
      for (const pid of new Set([...this.mesh.peers.keys(), ...this.names.keys()])) if (pid !== this.me.pid) this.dropPeer(pid);
      this.names.delete(this.me.pid);
    }
    this.me = { pid: m.pid, seq: m.seq };
    this.role = m.role;
    if (m.topology === "sfu" && !(this.mesh instanceof Sfu)) this.useSfu({ holdCamera: !!m.moved });
    this.mesh.pid = m.pid;
    this.ice = { iceServers: m.ice_servers || [], iceTransportPolicy: m.ice_transport_policy };
    this.mesh.configure({ ...this.ice, epoch: m.sfu_epoch, rejoined });
    app.classList.toggle("is-organiser", m.role === "organiser");
    $("connection-status").hidden = true;
    $("locked-indicator").hidden = !m.locked;
    show("in-room");
    this.names.set(m.pid, this.myName);
    this.localTiles();
    // The key exchange first: the current media key is on the way to the first decoded frame.
    if (rejoined) await this.e2ee.rejoin(this.me, m.peers);
    else if (!m.resumed) await this.e2ee.start(this.me, m.peers);
    $("key-waiting").hidden = this.e2ee.holds;
    for (const peer of m.peers) await this.peerName(peer);
    if (m.resumed || rejoined) {
      if (m.resumed) {
        // Whoever left or came during the gap: its peer_left or peer_joined never reached us.
        const present = new Set(m.peers.map((p) => p.pid));
        for (const pid of [...this.mesh.peers.keys()]) if (!present.has(pid)) this.dropPeer(pid);
        await this.e2ee.resync(m.peers);
        this.mesh.resumed();
      }
      for (const peer of m.peers) {
        this.mesh.add(peer.pid);
        this.renderPeer(peer.pid);
      }
      this.renderLobby(m.lobby || []);
      this.onRecording(m.recording ? { active: true, ...m.recording } : { active: false });
      this.broadcastState();
      return;
    }
    for (const peer of m.peers) {
      this.mesh.add(peer.pid);
      this.renderPeer(peer.pid);
    }
    if (m.recording) this.onRecording({ active: true, ...m.recording });
    this.renderLobby(m.lobby || []);
    this.broadcastState();
    this.startLoops();
  }

  /** Media through the media server (sfu.js), with the same events as the mesh. */
  useSfu({ holdCamera = false } = {}) {
    const sfu = (this.mesh = new Sfu({ signaling: this.signaling, e2ee: this.e2ee, media: this.media, holdCamera }));
    sfu.addEventListener("track", ({ detail }) => (this.meshBefore ? this.switchWhenDecoding(detail) : this.onTrack(detail)));
    // Each camera at the layer its tile needs (tiles.js); the mesh sends one quality to everyone.
    this.stage.addEventListener("layers", ({ detail }) => sfu.setLayers(detail));
    sfu.setLayers(this.stage.wantedLayers());
    return sfu;
  }

  /**
   * The room grew past the mesh (decision 0011): publish to the media server and subscribe while the mesh
   * still flows; each tile moves to its stream through Janus once that decodes, and the mesh closes once
   * every tile has moved. The E2EE key is the same on both paths, so nothing waits for a key.
   */
  moveToSfu(epoch = "") {
    if (this.mesh instanceof Sfu || !this.me) return;
    this.meshBefore = this.mesh;
    this.moving = new Map(); // pid -> "waiting" or "moved"
    this.theyMoved = this.theyMoved || new Set(); // pids whose page shows us through Janus already
    this.useSfu({ holdCamera: true });
    this.mesh.pid = this.me.pid;
    this.mesh.configure({ ...this.ice, epoch });
    const before = this.meshBefore;
    // Whoever sends nothing through Janus by then moves anyway, and the mesh does not stay open for ever.
    setTimeout(() => {
      if (this.meshBefore !== before) return;
      for (const pid of before.peers.keys()) if (this.moving.get(pid) !== "moved") this.tileMoved(pid);
    }, MOVE_WAIT_MS);
    setTimeout(() => this.meshBefore === before && this.closeMeshBefore(), 2 * MOVE_WAIT_MS);
  }

  async switchWhenDecoding(detail) {
    const { pid } = detail;
    // A screen, or someone who came with the move: no mesh stream to keep until this one decodes.
    if (detail.kind === "screen" || !this.meshBefore.peers.has(pid)) return this.onTrack(detail);
    if (this.moving.has(pid)) return; // its watcher attaches the latest stream
    this.moving.set(pid, "waiting");
    const sfu = this.mesh;
    const deadline = performance.now() + MOVE_WAIT_MS;
    while (this.moving?.get(pid) === "waiting" && performance.now() < deadline) {
      if ((await this.decodingThroughSfu(sfu)).has(pid)) break;
      await new Promise((resolve) => setTimeout(resolve, MOVE_POLL_MS));
    }
    // Moved by the deadline meanwhile, or gone: nothing more; else its tile takes the stream now.
    if (!this.moving || this.moving.get(pid) === "waiting") this.tileMoved(pid);
  }

  /**
   * Who the media server's streams decode for: their video, or their voice if they send no video. One
   * report of the receiving connection serves every tile that waits (getStats is not free), at most
   * every MOVE_POLL_MS.
   */
  decodingThroughSfu(sfu) {
    if (this.decodingReport && performance.now() - this.decodingReport.at < MOVE_POLL_MS) return this.decodingReport.pids;
    const pids = (async () => {
      const decoding = new Set();
      if (!sfu.sub) return decoding;
      const report = await sfu.sub.getStats();
      const byMid = new Map();
      report.forEach((r) => {
        if (r.type === "inbound-rtp" && (r.framesDecoded > 0 || (r.kind === "audio" && r.packetsReceived > 0))) byMid.set(r.mid, r.kind);
      });
      for (const [pid, stream] of sfu.streams) {
        const video = stream.getVideoTracks()[0];
        const track = video && (this.states.get(pid) || {}).video !== false ? video : stream.getAudioTracks()[0];
        const transceiver = track && sfu.sub.getTransceivers().find((t) => t.receiver.track === track);
        if (transceiver && byMid.has(transceiver.mid)) decoding.add(pid);
      }
      return decoding;
    })();
    this.decodingReport = { at: performance.now(), pids };
    return pids;
  }

  tileMoved(pid) {
    const stream = this.mesh.streams?.get(pid);
    if (stream && this.names.has(pid)) this.onTrack({ pid, stream, kind: "camera" });
    if (!this.meshBefore) return;
    this.moving.set(pid, "moved");
    // Its page keeps our mesh stream until it shows us through Janus: it says so, and then the pair closes.
    this.sendApp({ k: "moved" }, pid);
    this.closeMeshPair(pid);
  }

  /** A mesh connection closes once both of its ends show each other through the media server. */
  closeMeshPair(pid) {
    const before = this.meshBefore;
    if (!before) return;
    // Its page no longer shows our mesh stream: stop encoding video for it, while we may still need its.
    if (this.theyMoved.has(pid)) before.peers.get(pid)?.senders.video?.replaceTrack(null).catch(() => {});
    if (this.moving.get(pid) !== "moved" || !this.theyMoved.has(pid)) return;
    before.remove(pid);
    if (!before.peers.size) this.closeMeshBefore();
  }

  closeMeshBefore() {
    this.meshBefore?.closeAll();
    this.meshBefore = null;
    this.moving = null;
  }

  async peerName(peer) {
    this.sealedNames.set(peer.pid, peer.name || "");
    if (!peer.name) {
      // It joined without the key: its name comes sealed in its state once it has one.
      if (!this.names.get(peer.pid)) this.names.set(peer.pid, t("waiting_for_key"));
      return;
    }
    if (!this.keys) {
      this.names.set(peer.pid, t("someone"));
      return;
    }
    const plain = await openText(this.keys.chat, peer.name);
    let name = "";
    try {
      name = JSON.parse(plain || "{}").name || "";
    } catch {
      /* unreadable: wrong room secret */
    }
    this.names.set(peer.pid, name || (plain === null ? t("unknown_name") : t("guest")));
  }

  /** A participant handed us the key: names, chat and states sealed before are readable now. */
  async onHandover(pid) {
    this.keys = this.e2ee.keys;
    this.handedBy = pid;
    for (const [peer, sealed] of this.sealedNames) if (sealed) await this.peerName({ pid: peer, name: sealed });
    const held = this.heldApp || [];
    this.heldApp = [];
    for (const [from, payload] of held) await this.onApp(from, payload);
    for (const peer of this.mesh.peers.keys()) this.renderPeer(peer);
    $("key-waiting").hidden = true;
    this.showHandedBy();
    this.toast($("key-from").textContent);
    this.broadcastState();
  }

  /** Who handed us the key, by name: it may come with that participant's state, after the key. */
  showHandedBy() {
    if (!this.handedBy) return;
    const from = $("key-from");
    const name = this.names.get(this.handedBy);
    from.textContent = t("key_from", { name: name && name !== t("waiting_for_key") ? name : t("someone") });
    from.hidden = false;
  }

  // --- quality and speaker detection ----------------------------------------------------------------

  startLoops() {
    if (this.loops) return;
    this.loops = true;
    const everyMs = Math.max(1, Number(app.dataset.statsInterval) || 10) * 1000;
    // Whichever carries the media now: the mesh, or the media server once the room moved there.
    const room = this;
    const media = {
      get peers() {
        return room.mesh.peers;
      },
    };
    watchQuality({
      mesh: media, stage: this.stage, signaling: this.signaling, stats: this.stats, everyMs, onUplink: (poor) => this.uplink(poor),
    });
    watchSpeakers(media, {
      current: () => this.speaker,
      onSpeaker: (pid) => {
        this.speaker = pid;
        this.stage.speaking(pid);
      },
    });
  }
}

// The concerns' methods: `this` in each is the room.
Object.assign(Room.prototype, prejoin, controls, toolbar, people, chat, lobby, recording, layout);

loadCatalog();
const link = parseFragment(location.hash);
const linkScreen = $("meeting"); // the emailed link's page (/m/<room>): the room starts once it says open
if (linkScreen && link?.kind !== "organiser") {
  show("link");
  watchLink(linkScreen, { onOpen: () => start(parseFragment(location.hash)) });
} else {
  start(link);
}

function start(link) {
  if (!link) {
    finish("closed_invalid_token", "bad_link_text");
    return;
  }
  const room = new Room(link);
  room.prejoin().catch((error) => {
    console.error(error);
    finish("closed_disconnected", "closed_disconnected_text");
  });
}
