// Local devices: camera and microphone (with selection), screen sharing, and a speaker test.

export const VIDEO = { width: { ideal: 640 }, height: { ideal: 360 }, frameRate: { ideal: 24, max: 30 } };

export function mediaErrorKey(error) {
  if (!error) return "";
  if (error.name === "NotAllowedError" || error.name === "SecurityError") return "permission_denied";
  if (error.name === "NotFoundError" || error.name === "OverconstrainedError") return "no_device";
  if (error.name === "NotReadableError") return "device_busy";
  return "device_error";
}

export class LocalMedia extends EventTarget {
  constructor() {
    super();
    this.stream = new MediaStream(); // camera and microphone: one stream, as peers see it
    this.screenStream = null;
    this.audioId = "";
    this.videoId = "";
    this.audioOn = true;
    this.videoOn = true;
  }

  get audioTrack() {
    return this.stream.getAudioTracks()[0] || null;
  }

  get videoTrack() {
    return this.stream.getVideoTracks()[0] || null;
  }

  /** [slot, track, stream] for every sender a new peer connection needs. */
  senderTracks() {
    const tracks = [];
    if (this.audioTrack) tracks.push(["audio", this.audioTrack, this.stream]);
    if (this.videoTrack) tracks.push(["video", this.videoTrack, this.stream]);
    const screen = this.screenStream && this.screenStream.getVideoTracks()[0];
    if (screen) tracks.push(["screen", screen, this.screenStream]);
    return tracks;
  }

  async acquire(kind) {
    const constraints =
      kind === "audio"
        ? { audio: this.audioId ? { deviceId: { exact: this.audioId } } : true }
        : { video: { ...VIDEO, ...(this.videoId ? { deviceId: { exact: this.videoId } } : {}) } };
    const got = await navigator.mediaDevices.getUserMedia(constraints);
    const track = kind === "audio" ? got.getAudioTracks()[0] : got.getVideoTracks()[0];
    this.replace(kind, track);
    return track;
  }

  replace(kind, track) {
    const old = kind === "audio" ? this.audioTrack : this.videoTrack;
    if (old) {
      old.stop();
      this.stream.removeTrack(old);
    }
    if (track) this.stream.addTrack(track);
    this.dispatchEvent(new CustomEvent("track", { detail: { slot: kind, track } }));
  }

  /** Start with what the person chose; returns the error key of what failed, if anything. */
  async start({ audio, video }) {
    const errors = [];
    this.audioOn = audio;
    this.videoOn = video;
    for (const [kind, wanted] of [["audio", audio], ["video", video]]) {
      if (!wanted) continue;
      try {
        await this.acquire(kind);
      } catch (error) {
        errors.push(mediaErrorKey(error));
        if (kind === "audio") this.audioOn = false;
        else this.videoOn = false;
      }
    }
    return errors[0] || "";
  }

  async setAudio(on) {
    this.audioOn = on;
    if (this.audioTrack) this.audioTrack.enabled = on;
    else if (on) await this.acquire("audio");
  }

  async setVideo(on) {
    this.videoOn = on;
    if (on) await this.acquire("video");
    else this.replace("video", null); // the camera light goes off
  }

  async devices() {
    const all = await navigator.mediaDevices.enumerateDevices();
    return {
      audioinput: all.filter((d) => d.kind === "audioinput"),
      videoinput: all.filter((d) => d.kind === "videoinput"),
      audiooutput: all.filter((d) => d.kind === "audiooutput"),
    };
  }

  async shareScreen() {
    const got = await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: { ideal: 10 } }, audio: false });
    this.screenStream = this.screenStream || new MediaStream();
    for (const old of this.screenStream.getTracks()) this.screenStream.removeTrack(old);
    const track = got.getVideoTracks()[0];
    track.contentHint = "detail";
    this.screenStream.addTrack(track);
    track.addEventListener("ended", () => this.stopScreen());
    this.dispatchEvent(new CustomEvent("track", { detail: { slot: "screen", track } }));
    return track;
  }

  stopScreen() {
    if (!this.screenStream) return;
    for (const track of this.screenStream.getTracks()) {
      track.stop();
      this.screenStream.removeTrack(track);
    }
    this.dispatchEvent(new CustomEvent("track", { detail: { slot: "screen", track: null } }));
  }

  stopAll() {
    for (const track of this.stream.getTracks()) track.stop();
    this.stopScreen();
  }
}

/** A one-second tone on the chosen output, so that people can check they hear. */
export async function speakerTest(sinkId) {
  const context = new AudioContext();
  if (sinkId && context.setSinkId) {
    try {
      await context.setSinkId(sinkId);
    } catch {
      /* default output */
    }
  }
  const oscillator = context.createOscillator();
  const gain = context.createGain();
  gain.gain.value = 0.15;
  oscillator.frequency.value = 523.25;
  oscillator.connect(gain).connect(context.destination);
  oscillator.start();
  oscillator.stop(context.currentTime + 1);
  oscillator.onended = () => context.close();
}

/** The level (0..1) of an audio track, read a few times per second. */
export function levelMeter(track, onLevel) {
  const context = new AudioContext();
  const source = context.createMediaStreamSource(new MediaStream([track]));
  const analyser = context.createAnalyser();
  analyser.fftSize = 512;
  source.connect(analyser);
  const data = new Uint8Array(analyser.fftSize);
  const timer = setInterval(() => {
    analyser.getByteTimeDomainData(data);
    let peak = 0;
    for (const v of data) peak = Math.max(peak, Math.abs(v - 128) / 128);
    onLevel(peak);
  }, 200);
  return () => {
    clearInterval(timer);
    context.close();
  };
}
