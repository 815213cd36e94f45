// The signaling connection: authenticates, answers heartbeats, reconnects and resumes.
import { Close, FINAL_CLOSES } from "./protocol.js";

// Messages to peers kept while the connection is down and sent once it is resumed; bounded so that a
// long outage cannot trip the server's rate limit with the backlog (the oldest go first).
const QUEUED = new Set(["signal", "e2ee", "app"]);
const QUEUE_MAX = 100;

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
    this.live = false; // authenticated and in the room on the current connection
    this.backlog = [];
    this.retry = null;
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
      if (message.type === "welcome") {
        this.live = true;
        for (const queued of this.backlog.splice(0)) ws.send(JSON.stringify(queued));
      }
      this.dispatchEvent(new CustomEvent("message", { detail: message }));
    };
    ws.onclose = (event) => {
      if (ws !== this.ws) return;
      this.ws = null;
      this.live = false;
      if (this.stopped || FINAL_CLOSES.has(event.code)) {
        this.stop();
        this.dispatchEvent(new CustomEvent("closed", { detail: { code: event.code } }));
        return;
      }
      this.dispatchEvent(new CustomEvent("reconnecting"));
      // Offline, a new connection would fail (or, the moment the network goes, slip through and hang):
      // wait; the "online" event that follows calls reconnect(), which tries at once.
      const backoff = Math.min(2000, 200 * 2 ** this.attempt++);
      const delay = navigator.onLine === false ? 2000 : this.hurry ? 0 : backoff;
      this.hurry = false;
      this.retry = setTimeout(() => {
        this.retry = null;
        if (!this.stopped) this.connect();
      }, delay);
    };
  }

  get connected() {
    return this.live && !!this.ws && this.ws.readyState === WebSocket.OPEN;
  }

  /** A connection silent for three heartbeats is dead even if the browser has not noticed. */
  check() {
    if (this.ws && this.ws.readyState === WebSocket.OPEN && Date.now() - this.lastSeen > 3000 * this.heartbeat) {
      this.ws.close();
    }
  }

  /** Drop the connection now and resume it (after a network change); retry at once if waiting. */
  reconnect() {
    if (this.stopped) return;
    this.attempt = 0;
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.hurry = true;
      this.ws.close();
    } else if (!this.ws && this.retry) {
      clearTimeout(this.retry);
      this.retry = null;
      this.connect();
    }
  }

  /** "sent", "queued" (a message to peers while the connection is down) or false (dropped). */
  send(message) {
    const open = this.ws && this.ws.readyState === WebSocket.OPEN;
    if (open && (this.live || !QUEUED.has(message.type))) {
      this.ws.send(JSON.stringify(message));
      return "sent";
    }
    if (!this.stopped && QUEUED.has(message.type)) {
      this.backlog.push(message);
      if (this.backlog.length > QUEUE_MAX) this.backlog.shift();
      return "queued";
    }
    return false;
  }

  stop() {
    this.stopped = true;
    this.backlog = [];
    clearTimeout(this.retry);
    clearInterval(this.watch);
    if (this.ws) this.ws.close(Close.NORMAL);
  }
}
