// The live room page: pre-join checks, then signaling, mesh, end-to-end encryption, chat and controls.
import { watchLink } from "../meetings/join.js";
import { E2EE, transformsSupported } from "./e2ee.js";
import { loadCatalog, t } from "./i18n.js";
import { openText, ROOM_SECRET, roomKeys, sealText } from "./keys.js";
import { LocalMedia, levelMeter, mediaErrorKey, speakerTest } from "./media.js";
import { Mesh } from "./peers.js";
import { Recorder } from "./recorder.js";
import { Signaling } from "./signaling.js";
import { aggregate, quality, StatsCollector } from "./stats.js";
import { Stage } from "./tiles.js";

const $ = (id) => document.getElementById(id);
const app = $("room-app");
const NAME_KEY = "tessera.displayName";
const REACTIONS = ["👍", "👏", "😂", "🎉", "❤️"];

function parseFragment(hash) {
  const parts = hash.replace(/^#/, "").split(".");
  if (parts.length === 3 && parts[0] === "o") return { kind: "organiser", token: parts[1], secret: parts[2] };
  if (parts.length === 2) return { kind: "invite", token: parts[0], secret: parts[1] };
  return null;
}

function show(state) {
  app.dataset.state = state;
  for (const section of app.querySelectorAll("[data-screen]")) section.hidden = section.dataset.screen !== state;
}

function finish(titleKey, textKey = "") {
  $("ended-title").textContent = t(titleKey);
  $("ended-text").textContent = textKey ? t(textKey) : "";
  show("ended");
}

class Room {
  constructor(link) {
    this.link = link;
    this.roomId = app.dataset.roomId;
    this.media = new LocalMedia();
    this.names = new Map(); // pid -> display name (decrypted)
    this.states = new Map(); // pid -> { audio, video, screen, hand }
    this.hand = false;
    this.stats = new StatsCollector();
    this.queue = Promise.resolve();
    this.recorder = null;
    this.recording = null;
    this.stage = new Stage($("stage"), $("tile-template"));
    this.plaintext = app.dataset.plaintextAllowed === "true" && new URLSearchParams(location.search).get("e2ee") === "off";
  }

  async prejoin() {
    const nameInput = $("display-name");
    nameInput.value = localStorage.getItem(NAME_KEY) || "";
    if (!transformsSupported()) {
      this.error(t("unsupported"));
      $("join-button").disabled = true;
      show("prejoin");
      return;
    }
    // The form shows at once. Devices, keys and the E2EE worker (with its ECDH key pair) start
    // meanwhile, side by side, so that Join finds them ready; Join waits for what is not.
    const devices = this.media.start({ audio: true, video: true }).then(async (problem) => {
      if (problem) this.error(t(problem));
      this.preview();
      await this.fillDevices();
    });
    const keys = roomKeys(this.link.secret, this.roomId).then((roomKeys) => {
      this.keys = roomKeys;
      this.e2eeSetup();
      return this.e2ee.ready;
    });
    this.started = Promise.all([devices, keys]);
    $("camera-select").onchange = async (e) => {
      this.media.videoId = e.target.value;
      await this.media.acquire("video").catch((err) => this.error(t(mediaErrorKey(err))));
      this.preview();
    };
    $("mic-select").onchange = async (e) => {
      this.media.audioId = e.target.value;
      await this.media.acquire("audio").catch((err) => this.error(t(mediaErrorKey(err))));
      this.preview();
    };
    $("speaker-select").onchange = (e) => {
      this.sinkId = e.target.value;
      this.stage.setSink(this.sinkId); // the voices of the call, not only the test tone
    };
    $("speaker-test").onclick = () => speakerTest(this.sinkId);
    $("prejoin-form").onsubmit = (event) => {
      event.preventDefault();
      localStorage.setItem(NAME_KEY, nameInput.value.trim());
      this.join({ audio: $("join-mic").checked, video: $("join-camera").checked });
    };
    show("prejoin");
  }

  e2eeSetup() {
    // Nothing is sent before Join: `send` reaches the signaling connection Join opens.
    this.e2ee = new E2EE({ roomId: this.roomId, keys: this.keys, send: (m) => this.signaling.send(m), plaintext: this.plaintext });
    this.e2ee.addEventListener("key", ({ detail }) => {
      $("safety-code").textContent = detail.code;
      $("e2ee-badge").dataset.epoch = String(detail.epoch);
    });
    this.e2ee.addEventListener("unverified", ({ detail }) => this.tileNote(detail.pid, "unverified"));
  }

  error(text) {
    const box = $("prejoin-error");
    box.textContent = text;
    box.hidden = !text;
  }

  preview() {
    // A stream without a camera never loads, and would hold the page's load event forever.
    $("preview").srcObject = this.media.videoTrack ? this.media.stream : null;
    if (this.stopMeter) this.stopMeter();
    const audio = this.media.audioTrack;
    if (audio) this.stopMeter = levelMeter(audio, (level) => $("mic-level").style.setProperty("--level", level.toFixed(2)));
  }

  async fillDevices() {
    try {
      const devices = await this.media.devices();
      for (const [id, kind, current] of [
        ["camera-select", "videoinput", this.media.videoTrack],
        ["mic-select", "audioinput", this.media.audioTrack],
        ["speaker-select", "audiooutput", null],
      ]) {
        const select = $(id);
        select.replaceChildren(
          ...devices[kind].map((d, i) => {
            const option = new Option(d.label || `${kind} ${i + 1}`, d.deviceId);
            option.selected = current && current.getSettings().deviceId === d.deviceId;
            return option;
          }),
        );
        select.disabled = devices[kind].length === 0;
      }
    } catch {
      /* labels need a permission; the selects stay empty */
    }
  }

  async join({ audio, video }) {
    await this.started;
    if (this.stopMeter) this.stopMeter();
    if (!audio && this.media.audioTrack) this.media.replace("audio", null);
    if (!video && this.media.videoTrack) this.media.replace("video", null);
    this.media.audioOn = audio && !!this.media.audioTrack;
    this.media.videoOn = video && !!this.media.videoTrack;
    const name = ($("display-name").value || "").trim().slice(0, 60);
    this.myName = name || t("you");
    this.signaling = new Signaling({
      url: `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}${app.dataset.wsPath}`,
      kind: this.link.kind,
      token: this.link.token,
      name: await sealText(this.keys.chat, JSON.stringify({ name })),
    });
    this.mesh = new Mesh({
      signaling: this.signaling,
      e2ee: this.e2ee,
      iceServers: [], // servers and policy come with the welcome, before any peer connection is made
      media: this.media,
    });
    this.mesh.addEventListener("track", ({ detail }) => this.onTrack(detail));
    this.media.addEventListener("track", ({ detail }) => {
      this.mesh.setTrack(detail.slot, detail.track, detail.slot === "screen" ? this.media.screenStream : this.media.stream);
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
        await this.mesh.handle(m.from, m);
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
    const final = ["invalid_token", "token_expired", "not_open_yet", "cancelled", "room_full", "lobby_full", "removed", "meeting_ended", "replaced", "too_many_connections"];
    // Refused at the door for too many attempts: reconnecting at once would only be refused again.
    const refusedAtDoor = m.code === "rate_limited" && !this.me;
    if (final.includes(m.code) || refusedAtDoor) {
      this.final = m.code === "replaced" ? "left" : m.code;
      this.signaling.stopped = true;
    } else if (m.code !== "rate_limited") {
      console.warn("signaling error", m.code, m.message);
    }
  }

  onClosed(code) {
    this.leaveMedia();
    const outcome = this.final || (code === 4409 ? "room_full" : "disconnected");
    finish(`closed_${outcome}`, `closed_${outcome}_text`);
  }

  leaveMedia() {
    if (this.recorder) this.stopRecorder();
    this.mesh?.closeAll();
    this.media.stopAll();
  }

  dropPeer(pid) {
    this.mesh.remove(pid);
    this.stage.drop(pid);
    this.stats.forget(pid);
    this.names.delete(pid);
    this.states.delete(pid);
    for (const key of [...(this.streams || new Map()).keys()]) if (key.startsWith(`${pid}:`)) this.streams.delete(key);
  }

  async onWelcome(m) {
    this.me = { pid: m.pid, seq: m.seq };
    this.role = m.role;
    this.mesh.pid = m.pid;
    this.mesh.configure({ iceServers: m.ice_servers || [], iceTransportPolicy: m.ice_transport_policy });
    app.classList.toggle("is-organiser", m.role === "organiser");
    $("connection-status").hidden = true;
    $("locked-indicator").hidden = !m.locked;
    show("in-room");
    this.names.set(m.pid, this.myName);
    this.localTiles();
    // The key exchange first: the current media key is on the way to the first decoded frame.
    if (!m.resumed) await this.e2ee.start(this.me, m.peers);
    for (const peer of m.peers) await this.peerName(peer);
    if (m.resumed) {
      // Whoever left or came during the gap: its peer_left or peer_joined never reached us.
      const present = new Set(m.peers.map((p) => p.pid));
      for (const pid of [...this.mesh.peers.keys()]) if (!present.has(pid)) this.dropPeer(pid);
      await this.e2ee.resync(m.peers);
      this.mesh.resumed();
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

  async peerName(peer) {
    const plain = await openText(this.keys.chat, peer.name || "");
    let name = "";
    try {
      name = JSON.parse(plain || "{}").name || "";
    } catch {
      /* unreadable: wrong room secret */
    }
    this.names.set(peer.pid, name || (plain === null ? t("unknown_name") : t("guest")));
  }

  localTiles() {
    const tile = this.stage.attach("self", "camera", this.media.stream, { local: true });
    tile.querySelector(".name").textContent = t("you_label", { name: this.myName || "" });
    tile.classList.toggle("no-video", !this.media.videoOn);
    tile.classList.toggle("is-muted", !this.media.audioOn);
    if (this.media.screenStream && this.media.screenStream.getVideoTracks().length) {
      const screen = this.stage.attach("self", "screen", this.media.screenStream, { local: true });
      screen.querySelector(".name").textContent = t("your_screen");
    } else {
      this.stage.drop("self", "screen");
    }
  }

  onTrack({ pid, stream }) {
    if (!stream) return;
    const state = this.states.get(pid) || {};
    const kind = state.screen && state.screen === stream.id ? "screen" : "camera";
    (this.streams ||= new Map()).set(`${pid}:${stream.id}`, stream);
    if (kind === "camera") (this.cameraStreams ||= new Map()).set(pid, stream.id);
    this.stage.attach(pid, kind, stream);
    this.renderPeer(pid);
  }

  renderPeer(pid) {
    const name = this.names.get(pid) || "";
    const state = this.states.get(pid) || {};
    // A stream announced as a screen moves to its own tile.
    for (const [key, stream] of this.streams || []) {
      if (!key.startsWith(`${pid}:`)) continue;
      const isScreen = state.screen && stream.id === state.screen;
      const wrong = this.stage.ofPeer(pid).find((tile) => tile.querySelector("video").srcObject === stream && tile.dataset.kind !== (isScreen ? "screen" : "camera"));
      if (wrong) this.stage.drop(pid, wrong.dataset.kind);
      this.stage.attach(pid, isScreen ? "screen" : "camera", stream);
    }
    if (!state.screen) this.stage.drop(pid, "screen");
    if (!this.stage.ofPeer(pid).length) this.stage.tile(pid, "camera");
    for (const tile of this.stage.ofPeer(pid)) {
      tile.querySelector(".name").textContent = tile.dataset.kind === "screen" ? t("screen_of", { name }) : name;
      tile.classList.toggle("is-muted", state.audio === false);
      tile.classList.toggle("no-video", state.video === false && tile.dataset.kind === "camera");
      tile.querySelector(".hand").hidden = !state.hand;
    }
  }

  tileNote(pid, note) {
    for (const tile of this.stage.ofPeer(pid)) tile.dataset.note = note;
  }

  // --- encrypted app messages: chat, hand, reactions, media state ------------------------------------

  async sendApp(message, to = undefined) {
    const payload = await sealText(this.keys.chat, JSON.stringify(message));
    this.signaling.send({ type: "app", ...(to ? { to } : {}), payload });
  }

  broadcastState(to = undefined) {
    if (!this.me) return;
    const screen = this.media.screenStream && this.media.screenStream.getVideoTracks().length ? this.media.screenStream.id : null;
    this.sendApp({ k: "state", audio: this.media.audioOn, video: this.media.videoOn, screen, hand: this.hand }, to);
  }

  async onApp(from, payload) {
    const text = await openText(this.keys.chat, payload);
    if (text === null) return;
    let message;
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    if (message.k === "chat" && typeof message.text === "string") {
      this.chatLine(this.names.get(from) || "?", message.text.slice(0, 2000));
    } else if (message.k === "state") {
      this.states.set(from, { audio: !!message.audio, video: !!message.video, screen: message.screen || null, hand: !!message.hand });
      this.renderPeer(from);
    } else if (message.k === "react" && REACTIONS.includes(message.emoji)) {
      this.react(from, message.emoji);
    }
  }

  chatLine(who, text, mine = false) {
    const item = document.createElement("li");
    item.className = mine ? "chat-line mine" : "chat-line";
    const author = document.createElement("strong");
    author.textContent = who;
    const body = document.createElement("span");
    body.textContent = text;
    item.append(author, " ", body);
    $("chat-log").append(item);
    item.scrollIntoView({ block: "end" });
    if (!mine && $("side").hidden) $("chat-toggle").classList.add("has-news");
  }

  react(pid, emoji) {
    for (const tile of this.stage.ofPeer(pid).filter((t) => t.dataset.kind === "camera")) {
      const badge = document.createElement("span");
      badge.className = "reaction";
      badge.textContent = emoji;
      tile.append(badge);
      setTimeout(() => badge.remove(), 3000);
    }
  }

  toast(text) {
    const box = $("toast");
    box.textContent = text;
    box.hidden = false;
    clearTimeout(this.toastTimer);
    this.toastTimer = setTimeout(() => (box.hidden = true), 5000);
  }

  // --- controls ---------------------------------------------------------------------------------------

  bindControls() {
    $("mic-button").onclick = async () => {
      await this.media.setAudio(!this.media.audioOn).catch((e) => this.toast(t(mediaErrorKey(e))));
      this.syncButtons();
      this.localTiles();
      this.broadcastState();
    };
    $("camera-button").onclick = async () => {
      await this.media.setVideo(!this.media.videoOn).catch((e) => this.toast(t(mediaErrorKey(e))));
      this.syncButtons();
    };
    $("screen-button").onclick = async () => {
      if (this.media.screenStream && this.media.screenStream.getVideoTracks().length) this.media.stopScreen();
      else await this.media.shareScreen().catch((e) => this.toast(t(mediaErrorKey(e))));
      this.syncButtons();
    };
    $("hand-button").onclick = () => {
      this.hand = !this.hand;
      this.syncButtons();
      this.broadcastState();
    };
    $("view-button").onclick = () => {
      this.stage.setView(this.stage.view === "grid" ? "speaker" : "grid");
      this.syncButtons();
    };
    $("chat-toggle").onclick = () => {
      $("side").hidden = !$("side").hidden;
      $("chat-toggle").classList.remove("has-news");
    };
    $("chat-form").onsubmit = async (event) => {
      event.preventDefault();
      const input = $("chat-input");
      const text = input.value.trim().slice(0, 2000);
      if (!text) return;
      input.value = "";
      await this.sendApp({ k: "chat", text });
      this.chatLine(t("you"), text, true);
    };
    for (const button of document.querySelectorAll("[data-reaction]")) {
      button.onclick = () => {
        this.sendApp({ k: "react", emoji: button.dataset.reaction });
        this.react(this.me.pid, button.dataset.reaction);
      };
    }
    $("record-button").onclick = () => {
      if (this.recording && this.recording.by === this.me.pid) this.signaling.send({ type: "record", action: "stop" });
      else this.signaling.send({ type: "record", action: "request" });
    };
    // Closing the tab is leaving: the others see it at once, not when the resume grace runs out.
    window.addEventListener("pagehide", () => {
      if (!this.final) this.signaling.send({ type: "leave" });
    });
    $("leave-button").onclick = () => {
      this.final = "left_self";
      this.signaling.send({ type: "leave" });
      this.leaveMedia();
      this.signaling.stop();
      finish("closed_left_self", "closed_left_self_text");
    };
    $("lock-button").onclick = () => {
      const locked = $("lock-button").getAttribute("aria-pressed") !== "true";
      this.signaling.send({ type: "lock", locked });
    };
    $("end-button").onclick = () => {
      if (confirm(t("end_confirm"))) this.signaling.send({ type: "end" });
    };
    $("stage").addEventListener("click", (event) => {
      const button = event.target.closest("[data-act]");
      if (!button) return;
      const pid = button.closest(".tile").dataset.pid;
      if (button.dataset.act === "mute") this.signaling.send({ type: "mute_request", pid });
      if (button.dataset.act === "remove" && confirm(t("remove_confirm", { name: this.names.get(pid) || "" }))) {
        this.signaling.send({ type: "remove", pid });
      }
    });
    $("lobby-list").addEventListener("click", (event) => {
      const button = event.target.closest("[data-admit]");
      if (button) this.signaling.send({ type: "admit", pid: button.dataset.pid, allow: button.dataset.admit === "yes" });
    });
    this.syncButtons();
  }

  syncButtons() {
    const screenOn = !!(this.media.screenStream && this.media.screenStream.getVideoTracks().length);
    $("mic-button").setAttribute("aria-pressed", String(!this.media.audioOn));
    $("camera-button").setAttribute("aria-pressed", String(!this.media.videoOn));
    $("screen-button").setAttribute("aria-pressed", String(screenOn));
    $("hand-button").setAttribute("aria-pressed", String(this.hand));
    $("view-button").textContent = this.stage.view === "grid" ? t("speaker_view") : t("grid_view");
    $("mic-button").textContent = this.media.audioOn ? t("mute") : t("unmute");
    $("camera-button").textContent = this.media.videoOn ? t("camera_off") : t("camera_on");
    $("screen-button").textContent = screenOn ? t("stop_sharing") : t("share_screen");
  }

  async renderLobby(waiting) {
    const list = $("lobby-list");
    const items = [];
    for (const person of waiting) {
      await this.peerName(person);
      const item = document.createElement("li");
      const name = document.createElement("span");
      name.textContent = this.names.get(person.pid);
      const yes = Object.assign(document.createElement("button"), { type: "button", textContent: t("admit") });
      yes.dataset.admit = "yes";
      yes.dataset.pid = person.pid;
      const no = Object.assign(document.createElement("button"), { type: "button", textContent: t("deny"), className: "secondary" });
      no.dataset.admit = "no";
      no.dataset.pid = person.pid;
      item.append(name, " ", yes, " ", no);
      items.push(item);
    }
    list.replaceChildren(...items);
    $("lobby-panel").hidden = items.length === 0;
    if (items.length) {
      $("side").hidden = false; // the organiser sees who waits without looking for it
      this.toast(t("someone_waiting"));
    }
  }

  // --- recording with notice --------------------------------------------------------------------------

  async onRecordNotice(m) {
    const by = await openText(this.keys.chat, m.by_name || "");
    let name = "";
    try {
      name = JSON.parse(by || "{}").name || "";
    } catch {
      /* unreadable */
    }
    $("record-text").textContent = t("record_notice", { name: name || this.names.get(m.by) || t("someone") });
    const dialog = $("record-dialog");
    if (m.joining) show("notice");
    $("record-accept").onclick = () => {
      dialog.close();
      this.signaling.send({ type: "record_answer", notice: m.notice, accept: true });
    };
    $("record-refuse").onclick = () => {
      dialog.close();
      this.final = "refused_recording";
      this.signaling.send({ type: "record_answer", notice: m.notice, accept: false });
    };
    if (!dialog.open) dialog.showModal();
  }

  onRecording(m) {
    this.recording = m.active ? { by: m.by, notice: m.notice } : null;
    $("recording-indicator").hidden = !m.active;
    app.classList.toggle("is-recording", !!m.active);
    const mine = m.by === this.me?.pid;
    $("record-button").textContent = m.active && mine ? t("stop_recording") : t("record");
    if (m.active && mine && !this.recorder) {
      this.recorder = new Recorder({
        videos: () => this.stage.videos(),
        audioTracks: () => [
          ...(this.media.audioTrack ? [this.media.audioTrack] : []),
          ...[...(this.streams || new Map()).values()].flatMap((s) => s.getAudioTracks()),
        ],
      });
      this.recorder.start();
    } else if (!m.active && this.recorder) {
      this.stopRecorder();
    }
  }

  stopRecorder() {
    const recorder = this.recorder;
    this.recorder = null;
    const stamp = new Date().toISOString().slice(0, 16).replace(/[:T]/g, "-");
    recorder.stop(`tessera-recording-${stamp}.webm`);
  }

  // --- quality and speaker detection ----------------------------------------------------------------

  startLoops() {
    if (this.loops) return;
    this.loops = true;
    const every = Math.max(1, Number(app.dataset.statsInterval) || 10) * 1000;
    let sentAt = performance.now();
    setInterval(async () => {
      const figures = [];
      for (const [pid, peer] of this.mesh.peers) {
        if (peer.pc.connectionState === "closed") continue;
        try {
          const f = await this.stats.peer(pid, peer.pc);
          figures.push(f);
          for (const tile of this.stage.ofPeer(pid)) tile.dataset.quality = quality(f);
        } catch {
          /* closed meanwhile */
        }
      }
      if (figures.length && performance.now() - sentAt >= every - 500) {
        sentAt = performance.now();
        this.signaling.send(aggregate(figures));
      }
    }, Math.min(2000, every));
    const spoke = new Map(); // pid -> when their voice was last above the threshold
    const energy = new Map(); // receiver -> { energy, duration } at the last look
    // The level over the whole interval (from the energy received since the last look), not the level
    // of the one packet that happens to be the latest: a short word between two looks still counts.
    const levelSince = async (receiver) => {
      let now = null;
      for (const stat of (await receiver.getStats()).values()) {
        if (stat.type === "inbound-rtp") now = { energy: stat.totalAudioEnergy || 0, duration: stat.totalSamplesDuration || 0 };
      }
      if (!now) return 0;
      const before = energy.get(receiver);
      energy.set(receiver, now);
      if (!before || now.duration <= before.duration) return 0;
      return Math.sqrt(Math.max(0, now.energy - before.energy) / (now.duration - before.duration));
    };
    let looking = false;
    setInterval(async () => {
      if (looking) return; // a slow look is not stacked on another
      looking = true;
      try {
        let best = null;
        let level = 0.02;
        const now = performance.now();
        for (const [pid, peer] of this.mesh.peers) {
          for (const receiver of peer.pc.getReceivers()) {
            if (receiver.track.kind !== "audio") continue;
            const heard = await levelSince(receiver);
            if (heard > 0.02) spoke.set(pid, now);
            if (heard > level) {
              level = heard;
              best = pid;
            }
          }
        }
        // Pauses between words keep the highlight where it is for a moment instead of flickering.
        if (!best && this.speaker && now - (spoke.get(this.speaker) || 0) < 1500 && this.mesh.peers.has(this.speaker)) best = this.speaker;
        if (best !== this.speaker) {
          this.speaker = best;
          this.stage.speaking(best);
        }
      } finally {
        looking = false;
      }
    }, 400);
  }
}

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
  if (!link || !ROOM_SECRET.test(link.secret)) {
    finish("closed_invalid_token", "bad_link_text");
    return;
  }
  const room = new Room(link);
  room.prejoin().catch((error) => {
    console.error(error);
    finish("closed_disconnected", "closed_disconnected_text");
  });
}
