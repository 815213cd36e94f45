// Layout: the tiles of the local participant and of each peer, from their streams and announced state.
import { t } from "./i18n.js";

/** Two letters for a name's avatar, and a hue that stays the same for the same name. */
export function initials(name) {
  const words = (name || "?").trim().split(/\s+/).filter(Boolean);
  const letters = words.length > 1 ? [words[0], words[words.length - 1]].map((w) => [...w][0]).join("") : [...(words[0] || "?")].slice(0, 2).join("");
  return letters.toUpperCase();
}

export function avatarColor(name) {
  let hash = 0;
  for (const char of name || "") hash = (hash * 31 + char.codePointAt(0)) % 360;
  return `hsl(${hash} 55% 42%)`;
}

export function paintAvatar(node, name) {
  node.textContent = initials(name);
  node.style.setProperty("--avatar", avatarColor(name));
}

/** Room methods (mixed into the Room): `this` is the room. */
export const layout = {
  localTiles() {
    const tile = this.stage.attach("self", "camera", this.media.stream, { local: true });
    tile.querySelector(".name").textContent = t("you_label", { name: this.myName || "" });
    paintAvatar(tile.querySelector(".avatar"), this.myName);
    tile.classList.toggle("no-video", !this.media.videoOn);
    tile.classList.toggle("is-muted", !this.media.audioOn);
    tile.classList.toggle("hand-up", !!this.hand);
    tile.querySelector(".hand").hidden = !this.hand;
    if (this.media.screenStream && this.media.screenStream.getVideoTracks().length) {
      const screen = this.stage.attach("self", "screen", this.media.screenStream, { local: true });
      screen.querySelector(".name").textContent = t("your_screen");
    } else {
      this.stage.drop("self", "screen");
    }
    this.schedulePeople();
  },

  onTrack({ pid, stream, kind: said }) {
    if (!stream) return;
    const state = this.states.get(pid) || {};
    // Through the media server the stream says what it carries; in the mesh its id is the sender's.
    if (said === "screen") (this.screenStreams ||= new WeakSet()).add(stream);
    const kind = said || (state.screen && state.screen === stream.id ? "screen" : "camera");
    (this.streams ||= new Map()).set(`${pid}:${stream.id}`, stream);
    if (kind === "camera") (this.cameraStreams ||= new Map()).set(pid, stream.id);
    this.stage.attach(pid, kind, stream);
    this.renderPeer(pid);
  },

  renderPeer(pid) {
    const name = this.names.get(pid) || "";
    const state = this.states.get(pid) || {};
    // A stream announced as a screen moves to its own tile.
    for (const [key, stream] of this.streams || []) {
      if (!key.startsWith(`${pid}:`)) continue;
      const isScreen = this.screenStreams?.has(stream) || (state.screen && stream.id === state.screen);
      const wrong = this.stage.ofPeer(pid).find((tile) => tile.querySelector("video").srcObject === stream && tile.dataset.kind !== (isScreen ? "screen" : "camera"));
      if (wrong) this.stage.drop(pid, wrong.dataset.kind);
      this.stage.attach(pid, isScreen ? "screen" : "camera", stream);
    }
    if (!state.screen) this.stage.drop(pid, "screen");
    if (!this.stage.ofPeer(pid).length) this.stage.tile(pid, "camera");
    this.raised(pid, !!state.hand);
    for (const tile of this.stage.ofPeer(pid)) {
      tile.querySelector(".name").textContent = tile.dataset.kind === "screen" ? t("screen_of", { name }) : name;
      paintAvatar(tile.querySelector(".avatar"), name);
      tile.classList.toggle("is-muted", state.audio === false);
      // No announced video, or no stream yet: the avatar rather than a black tile.
      const noVideo = state.video === false || !tile.querySelector("video").srcObject;
      tile.classList.toggle("no-video", noVideo && tile.dataset.kind === "camera");
      tile.querySelector(".hand").hidden = !state.hand || tile.dataset.kind !== "camera";
      tile.classList.toggle("hand-up", !!state.hand && tile.dataset.kind === "camera");
    }
    this.schedulePeople();
  },

  /** Raised hands keep the order they went up in: `handOrder` maps pid -> rank taken when raised. */
  raised(pid, up) {
    this.handOrder ||= new Map();
    if (up && !this.handOrder.has(pid)) this.handOrder.set(pid, (this.handSeq = (this.handSeq || 0) + 1));
    if (!up) this.handOrder.delete(pid);
  },

  tileNote(pid, note) {
    (this.notes ||= new Map()).set(pid, note);
    for (const tile of this.stage.ofPeer(pid)) tile.dataset.note = note;
    this.schedulePeople();
  },
};
