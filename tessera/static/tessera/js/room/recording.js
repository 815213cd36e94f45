// Recording with notice: the dialog every participant answers, the indicator, and the recorder's own side.
import { t } from "./i18n.js";
import { openText } from "./keys.js";
import { $, app, show } from "./page.js";
import { Recorder } from "./recorder.js";

/** Room methods (mixed into the Room): `this` is the room. */
export const recording = {
  async onRecordNotice(m) {
    const by = this.keys ? await openText(this.keys.chat, m.by_name || "") : null;
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
  },

  onRecording(m) {
    this.recording = m.active ? { by: m.by, notice: m.notice } : null;
    $("recording-indicator").hidden = !m.active;
    app.classList.toggle("is-recording", !!m.active);
    const mine = m.by === this.me?.pid;
    const label = m.active && mine ? t("stop_recording") : t("record");
    $("record-button").querySelector(".label").textContent = label;
    $("record-button").dataset.tip = label;
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
  },

  stopRecorder() {
    const recorder = this.recorder;
    this.recorder = null;
    const stamp = new Date().toISOString().slice(0, 16).replace(/[:T]/g, "-");
    recorder.stop(`tessera-recording-${stamp}.webm`);
  },
};
