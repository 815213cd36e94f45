// The in-room controls: microphone, camera, screen, hand, view, chat, reactions, recording, leave,
// and the organiser's lock, end, mute, remove and admit; plus the toast that answers them.
import { t } from "./i18n.js";
import { mediaErrorKey } from "./media.js";
import { $, finish } from "./page.js";

/** Room methods (mixed into the Room): `this` is the room. */
export const controls = {
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
  },

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
  },

  toast(text) {
    const box = $("toast");
    box.textContent = text;
    box.hidden = false;
    clearTimeout(this.toastTimer);
    this.toastTimer = setTimeout(() => (box.hidden = true), 5000);
  },
};
