// The in-room controls: microphone, camera, screen, hand, view, chat, reactions, recording, leave,
// pinning, and the organiser's lock, end, mute, remove and admit; plus the toast that answers them.
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
      this.localTiles();
    };
    $("screen-button").onclick = async () => {
      if (this.media.screenStream && this.media.screenStream.getVideoTracks().length) this.media.stopScreen();
      else await this.media.shareScreen().catch((e) => this.toast(t(mediaErrorKey(e))));
      this.syncButtons();
    };
    $("hand-button").onclick = () => {
      this.hand = !this.hand;
      this.raised("self", this.hand);
      this.syncButtons();
      this.localTiles();
      this.broadcastState();
    };
    $("view-button").onclick = () => {
      // From a pinned or speaker layout, the button goes back to the grid of everyone.
      this.stage.setView(this.stage.featuredMode() ? "grid" : "speaker");
      this.syncButtons();
    };
    this.stage.addEventListener("pin", () => {
      this.syncButtons();
      this.schedulePeople();
    });
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
    // Tile buttons and the participants panel's rows share one set of actions, by the participant's pid.
    const act = (event) => {
      const button = event.target.closest("[data-act]");
      if (!button) return;
      const holder = button.closest("[data-pid]");
      const pid = holder.dataset.pid;
      if (button.dataset.act === "pin") this.stage.pin(holder.dataset.key || `${pid}:camera`);
      if (button.dataset.act === "mute") {
        this.signaling.send({ type: "mute_request", pid });
        this.toast(t("mute_asked", { name: this.names.get(pid) || "" }));
      }
      if (button.dataset.act === "remove" && confirm(t("remove_confirm", { name: this.names.get(pid) || "" }))) {
        this.signaling.send({ type: "remove", pid });
      }
    };
    $("stage").addEventListener("click", act);
    $("people-list").addEventListener("click", act);
    $("lobby-list").addEventListener("click", (event) => {
      const button = event.target.closest("[data-admit]");
      if (button) this.signaling.send({ type: "admit", pid: button.dataset.pid, allow: button.dataset.admit === "yes" });
    });
    this.bindToolbar();
    this.syncButtons();
  },

  syncButtons() {
    const screenOn = !!(this.media.screenStream && this.media.screenStream.getVideoTracks().length);
    const speakerView = this.stage.featuredMode();
    // Toggles keep one name and say their state with aria-pressed; the tooltip says what a press does.
    const set = (id, pressed, label, tip, key) => {
      const button = $(id);
      if (pressed !== null) button.setAttribute("aria-pressed", String(pressed));
      button.querySelector(".label").textContent = label;
      button.dataset.tip = key ? `${tip} (${key})` : tip;
    };
    set("mic-button", !this.media.audioOn, t("mute"), this.media.audioOn ? t("mute") : t("unmute"), "M");
    set("camera-button", !this.media.videoOn, t("camera_off"), this.media.videoOn ? t("camera_off") : t("camera_on"), "V");
    set("screen-button", screenOn, t("share_screen"), screenOn ? t("stop_sharing") : t("share_screen"), "S");
    set("hand-button", this.hand, t("raise_hand"), this.hand ? t("lower_hand") : t("raise_hand"), "H");
    set("view-button", speakerView, t("speaker_view"), speakerView ? t("grid_view") : t("speaker_view"), "L");
    set("people-toggle", null, t("participants"), t("participants"), "P");
    set("chat-toggle", null, t("chat"), t("chat"), "C");
    set("help-button", null, t("shortcuts"), t("shortcuts"), "?");
    set("leave-button", null, t("leave"), t("leave"), t("leave_keys"));
  },

  toast(text) {
    const box = $("toast");
    box.textContent = text;
    box.hidden = false;
    clearTimeout(this.toastTimer);
    this.toastTimer = setTimeout(() => (box.hidden = true), 5000);
  },
};
