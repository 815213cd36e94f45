// Recording on the recorder's own device: every visible tile drawn on a canvas, every voice mixed,
// through MediaRecorder, saved as a WebM download. Nothing is uploaded.

export class Recorder {
  constructor({ videos, audioTracks, width = 1280, height = 720, fps = 15 }) {
    Object.assign(this, { videos, audioTracks, width, height, fps });
    this.chunks = [];
  }

  start() {
    const canvas = (this.canvas = document.createElement("canvas"));
    canvas.width = this.width;
    canvas.height = this.height;
    const context = canvas.getContext("2d");
    this.timer = setInterval(() => this.draw(context), 1000 / this.fps);
    this.audio = new AudioContext();
    const mix = this.audio.createMediaStreamDestination();
    this.sources = new Map();
    this.mixAudio = () => {
      for (const track of this.audioTracks()) {
        if (this.sources.has(track.id) || track.readyState !== "live") continue;
        const source = this.audio.createMediaStreamSource(new MediaStream([track]));
        source.connect(mix);
        this.sources.set(track.id, source);
      }
    };
    this.mixAudio();
    this.audioTimer = setInterval(this.mixAudio, 1000);
    const stream = new MediaStream([...canvas.captureStream(this.fps).getVideoTracks(), ...mix.stream.getAudioTracks()]);
    const type = ["video/webm;codecs=vp8,opus", "video/webm"].find((t) => MediaRecorder.isTypeSupported(t)) || "";
    this.recorder = new MediaRecorder(stream, type ? { mimeType: type, videoBitsPerSecond: 1_500_000 } : {});
    this.recorder.ondataavailable = (event) => event.data.size && this.chunks.push(event.data);
    this.recorder.start(1000);
    this.startedAt = Date.now();
  }

  draw(context) {
    const videos = this.videos().filter((v) => v.readyState >= 2 && v.videoWidth);
    context.fillStyle = "#111";
    context.fillRect(0, 0, this.width, this.height);
    if (!videos.length) return;
    const columns = Math.ceil(Math.sqrt(videos.length));
    const rows = Math.ceil(videos.length / columns);
    const w = this.width / columns;
    const h = this.height / rows;
    videos.forEach((video, i) => {
      const scale = Math.min(w / video.videoWidth, h / video.videoHeight);
      const dw = video.videoWidth * scale;
      const dh = video.videoHeight * scale;
      context.drawImage(video, (i % columns) * w + (w - dw) / 2, Math.floor(i / columns) * h + (h - dh) / 2, dw, dh);
    });
  }

  /** Stop and hand the file to the browser as a download. */
  stop(filename) {
    return new Promise((resolve) => {
      if (!this.recorder || this.recorder.state === "inactive") return resolve(null);
      this.recorder.onstop = () => {
        clearInterval(this.timer);
        clearInterval(this.audioTimer);
        this.audio.close();
        const blob = new Blob(this.chunks, { type: "video/webm" });
        const url = URL.createObjectURL(blob);
        const link = document.createElement("a");
        link.href = url;
        link.download = filename;
        link.hidden = true;
        document.body.append(link);
        link.click();
        link.remove();
        setTimeout(() => URL.revokeObjectURL(url), 60_000);
        resolve(blob);
      };
      this.recorder.stop();
    });
  }
}
