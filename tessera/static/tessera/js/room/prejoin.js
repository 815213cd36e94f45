// Before joining: the name, the device checks and choices, and the keys and E2EE worker made ready meanwhile.
import { E2EE, transformsSupported } from "./e2ee.js";
import { t } from "./i18n.js";
import { roomKeys } from "./keys.js";
import { levelMeter, mediaErrorKey, speakerTest } from "./media.js";
import { $, show } from "./page.js";

export const NAME_KEY = "tessera.displayName";

/** Room methods (mixed into the Room): `this` is the room. */
export const prejoin = {
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
    // A link without the key: the key comes from a participant in the room (decision 0010).
    const keys = (this.link.secret ? roomKeys(this.link.secret, this.roomId) : Promise.resolve(null)).then((roomKeys) => {
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
  },

  e2eeSetup() {
    // Nothing is sent before Join: `send` reaches the signaling connection Join opens.
    this.e2ee = new E2EE({
      roomId: this.roomId, secret: this.link.secret, keys: this.keys, send: (m) => this.signaling.send(m), plaintext: this.plaintext,
    });
    this.e2ee.addEventListener("key", ({ detail }) => {
      $("safety-code").textContent = detail.code;
      $("e2ee-badge").dataset.epoch = String(detail.epoch);
      $("e2ee-badge").dataset.roster = String(detail.roster);
    });
    this.e2ee.addEventListener("unverified", ({ detail }) => this.tileNote(detail.pid, "unverified"));
    this.e2ee.addEventListener("waiting", ({ detail }) => this.tileNote(detail.pid, "waiting"));
    this.e2ee.addEventListener("verified", ({ detail }) => {
      this.tileNote(detail.pid, "");
      // Our name and state, under a key this participant now holds: it may have missed the earlier ones.
      this.broadcastState(detail.pid);
    });
    this.e2ee.addEventListener("handover", ({ detail }) => {
      this.queue = this.queue.then(() => this.onHandover(detail.pid)).catch((e) => console.warn(e));
    });
  },

  error(text) {
    const box = $("prejoin-error");
    box.textContent = text;
    box.hidden = !text;
  },

  preview() {
    // A stream without a camera never loads, and would hold the page's load event forever.
    $("preview").srcObject = this.media.videoTrack ? this.media.stream : null;
    if (this.stopMeter) this.stopMeter();
    const audio = this.media.audioTrack;
    if (audio) this.stopMeter = levelMeter(audio, (level) => $("mic-level").style.setProperty("--level", level.toFixed(2)));
  },

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
  },
};
