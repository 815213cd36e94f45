// The signaling connection: authenticates, answers heartbeats, reconnects and resumes.

const FINAL = new Set([4401, 4403, 4409, 4410, 4413, 4429, 1000]);

export class Signaling extends EventTarget {
  constructor({ url, kind, token, name }) {
    super();
    Object.assign(this, { url, kind, token, name });
    this.resume = "";
    this.ws = null;
    this.stopped = false;
    this.attempt = 0;
    this.heartbeat = 10;
    this.lastSeen = 0;
    this.watch = setInterval(() => this.check(), 1000);
  }

  connect() {
    const ws = (this.ws = new WebSocket(this.url));
    ws.onopen = () => {
      this.lastSeen = Date.now();
      ws.send(JSON.stringify({ type: "auth", kind: this.kind, token: this.token, name: this.name, resume: this.resume }));
    };
    ws.onmessage = (event) => {
      this.lastSeen = Date.now();
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      if (message.type === "ping") return this.send({ type: "pong" });
      if (message.type === "welcome" || message.type === "lobby") {
        this.attempt = 0;
        if (message.resume) this.resume = message.resume;
        if (message.heartbeat_seconds) this.heartbeat = message.heartbeat_seconds;
      }
      this.dispatchEvent(new CustomEvent("message", { detail: message }));
    };
    ws.onclose = (event) => {
      if (ws !== this.ws) return;
      this.ws = null;
      if (this.stopped || FINAL.has(event.code)) {
        this.stop();
        this.dispatchEvent(new CustomEvent("closed", { detail: { code: event.code } }));
        return;
      }
      this.dispatchEvent(new CustomEvent("reconnecting"));
      const delay = Math.min(2000, 200 * 2 ** this.attempt++);
      setTimeout(() => this.stopped || this.connect(), delay);
    };
  }

  /** A connection silent for three heartbeats is dead even if the browser has not noticed. */
  check() {
    if (this.ws && this.ws.readyState === WebSocket.OPEN && Date.now() - this.lastSeen > 3000 * this.heartbeat) {
      this.ws.close();
    }
  }

  /** Drop the connection now and resume it (after a network change). */
  reconnect() {
    if (this.ws) this.ws.close();
  }

  send(message) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify(message));
      return true;
    }
    return false;
  }

  stop() {
    this.stopped = true;
    clearInterval(this.watch);
    if (this.ws) this.ws.close(1000);
  }
}
