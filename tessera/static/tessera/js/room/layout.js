// Layout: the tiles of the local participant and of each peer, from their streams and announced state.
import { t } from "./i18n.js";

/** Room methods (mixed into the Room): `this` is the room. */
export const layout = {
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
  },

  onTrack({ pid, stream }) {
    if (!stream) return;
    const state = this.states.get(pid) || {};
    const kind = state.screen && state.screen === stream.id ? "screen" : "camera";
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
  },

  tileNote(pid, note) {
    for (const tile of this.stage.ofPeer(pid)) tile.dataset.note = note;
  },
};
