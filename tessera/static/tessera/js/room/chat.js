// Encrypted app messages between participants: chat, raised hand, reactions and media state.
import { $ } from "./page.js";

export const REACTIONS = ["👍", "👏", "😂", "🎉", "❤️"];

/** Room methods (mixed into the Room): `this` is the room. */
export const chat = {
  async sendApp(message, to = undefined) {
    if (!this.keys) return; // nothing is sent before a participant hands the key over
    const payload = await this.e2ee.sealApp(JSON.stringify(message));
    this.signaling.send({ type: "app", ...(to ? { to } : {}), payload });
  },

  broadcastState(to = undefined) {
    if (!this.me) return;
    const screen = this.media.screenStream && this.media.screenStream.getVideoTracks().length ? this.media.screenStream.id : null;
    // The name travels in the state too: a participant who joined without the key had none to seal it with.
    const name = this.typedName || "";
    this.sendApp({ k: "state", name, audio: this.media.audioOn, video: this.media.videoOn, screen, hand: this.hand }, to);
  },

  async onApp(from, payload) {
    if (!this.keys) {
      // Sealed with the key we wait for: read once a participant hands it over.
      this.heldApp = this.heldApp || [];
      if (this.heldApp.length < 500) this.heldApp.push([from, payload]);
      return;
    }
    const text = await this.e2ee.openApp(payload);
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
      if (typeof message.name === "string" && message.name.trim() && this.names.get(from) !== message.name.trim().slice(0, 60)) {
        this.names.set(from, message.name.trim().slice(0, 60));
        if (from === this.handedBy) this.showHandedBy();
      }
      this.states.set(from, { audio: !!message.audio, video: !!message.video, screen: message.screen || null, hand: !!message.hand });
      this.renderPeer(from);
    } else if (message.k === "react" && REACTIONS.includes(message.emoji)) {
      this.react(from, message.emoji);
    } else if (message.k === "moved") {
      // Its page shows us through the media server now: our mesh connection to it may close.
      (this.theyMoved ||= new Set()).add(from);
      this.closeMeshPair?.(from);
    }
  },

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
  },

  react(pid, emoji) {
    for (const tile of this.stage.ofPeer(pid).filter((t) => t.dataset.kind === "camera")) {
      const badge = document.createElement("span");
      badge.className = "reaction";
      badge.textContent = emoji;
      tile.append(badge);
      setTimeout(() => badge.remove(), 3000);
    }
  },
};
