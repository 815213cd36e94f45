// Media keys: the worker that encrypts every frame, and the key exchange between participants.
// A deterministic leader (the participant who joined first) hands the current key to each newcomer
// whose public key is authenticated by the room secret, and rotates the key when anyone leaves.
import {
  ecdhKeyPair,
  helloTag,
  helloVerify,
  randomKey,
  safetyCode,
  unwrapMediaKey,
  wrapMediaKey,
} from "./keys.js";

export function transformsSupported() {
  return typeof window.RTCRtpScriptTransform === "function";
}

export class E2EE extends EventTarget {
  constructor({ roomId, keys, send, plaintext = false }) {
    super();
    Object.assign(this, { roomId, keys, send, plaintext });
    this.worker = new Worker(new URL("./e2ee-worker.js", import.meta.url), { type: "module", name: "e2ee" });
    this.epoch = 0;
    this.current = keys.media;
    this.peers = new Map(); // pid -> { publicKey, seq, verified }
    this.me = { pid: "", seq: 0 };
    this.ready = this.init();
  }

  async init() {
    this.install(0, this.keys.media, true);
    this.pair = await ecdhKeyPair();
  }

  install(epoch, key, send) {
    this.worker.postMessage({ type: "key", index: epoch, key: key.slice().buffer, send });
    if (send) {
      this.epoch = epoch;
      this.current = key;
      this.announce();
      // Older keys go after a moment: frames already in flight still decrypt, nothing later does.
      const stale = [];
      for (let i = 1; i <= 4; i++) stale.push((epoch - i + 256 * 4) % 256);
      setTimeout(() => this.worker.postMessage({ type: "forget", indexes: stale }), 4000);
    }
  }

  async announce() {
    this.dispatchEvent(new CustomEvent("key", { detail: { epoch: this.epoch, code: await safetyCode(this.current) } }));
  }

  senderTransform(sender, kind) {
    if (!this.plaintext) sender.transform = new RTCRtpScriptTransform(this.worker, { operation: "encrypt", kind });
  }

  receiverTransform(receiver, kind) {
    if (!this.plaintext) receiver.transform = new RTCRtpScriptTransform(this.worker, { operation: "decrypt", kind });
  }

  async start(me, peers) {
    await this.ready;
    this.me = me;
    for (const peer of peers) this.peers.set(peer.pid, { seq: peer.seq, publicKey: null });
    await this.hello();
  }

  async hello(to = undefined) {
    const tag = await helloTag(this.keys.auth, this.roomId, this.me.pid, this.pair.publicKey);
    this.send({ type: "e2ee", ...(to ? { to } : {}), payload: JSON.stringify({ k: "hello", pub: this.pair.publicKey, tag }) });
  }

  leader() {
    let best = this.me;
    for (const [pid, peer] of this.peers) if (peer.seq < best.seq) best = { pid, seq: peer.seq };
    return best.pid;
  }

  async peerJoined(peer) {
    await this.ready;
    this.peers.set(peer.pid, { seq: peer.seq, publicKey: null });
    await this.hello(peer.pid);
  }

  async peerLeft(pid) {
    await this.ready;
    if (!this.peers.delete(pid)) return;
    if (this.leader() === this.me.pid) await this.rotate();
  }

  async rotate() {
    const key = randomKey();
    const epoch = this.epoch + 1;
    for (const [pid, peer] of this.peers) if (peer.publicKey) await this.deliver(pid, peer.publicKey, epoch, key);
    this.install(epoch, key, true);
  }

  async deliver(pid, publicKey, epoch, key) {
    const wrapped = await wrapMediaKey({
      privateKey: this.pair.privateKey, theirPublicKey: publicKey, roomId: this.roomId,
      from: this.me.pid, to: pid, index: epoch, key,
    });
    this.send({ type: "e2ee", to: pid, payload: JSON.stringify({ k: "key", epoch, ...wrapped }) });
  }

  async receive(from, payload) {
    await this.ready;
    let message;
    try {
      message = JSON.parse(payload);
    } catch {
      return;
    }
    const peer = this.peers.get(from);
    if (!peer) return;
    if (message.k === "hello") {
      if (!(await helloVerify(this.keys.auth, this.roomId, from, message.pub, message.tag))) {
        this.dispatchEvent(new CustomEvent("unverified", { detail: { pid: from } }));
        return;
      }
      const known = peer.publicKey;
      peer.publicKey = message.pub;
      this.dispatchEvent(new CustomEvent("verified", { detail: { pid: from } }));
      if (!known) await this.hello(from);
      // The leader hands the current key over, encrypted for this participant only.
      if (this.leader() === this.me.pid && this.epoch > 0) await this.deliver(from, message.pub, this.epoch, this.current);
    } else if (message.k === "key" && peer.publicKey && Number.isInteger(message.epoch) && message.epoch >= this.epoch) {
      const key = await unwrapMediaKey({
        privateKey: this.pair.privateKey, theirPublicKey: peer.publicKey, roomId: this.roomId,
        from, to: this.me.pid, index: message.epoch, iv: message.iv, ct: message.ct,
      });
      if (key && (message.epoch > this.epoch || this.epoch === 0)) this.install(message.epoch, key, true);
    }
  }
}
