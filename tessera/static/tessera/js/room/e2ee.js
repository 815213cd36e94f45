// Media keys: the worker that encrypts every frame, and the key exchange between participants.
// A deterministic leader (the verified participant who joined first) hands the current key to each
// newcomer whose public key is authenticated by the room secret, and rotates the key when anyone leaves.
import {
  ecdhKeyPair,
  helloTag,
  helloVerify,
  randomKey,
  safetyCode,
  unwrapMediaKey,
  wrapMediaKey,
} from "./keys.js";

const FORGET_AFTER_MS = 4000;

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
    this.keySeq = 0; // join order of whoever made the current key: the earliest wins a tie
    this.held = new Map(); // key index in the worker -> epoch
    this.peers = new Map(); // pid -> { seq, publicKey } (publicKey once its hello proved the room secret)
    this.me = { pid: "", seq: 0 };
    this.ready = this.init();
  }

  async init() {
    this.install(0, this.keys.media, true);
    this.pair = await ecdhKeyPair();
  }

  install(epoch, key, send) {
    this.worker.postMessage({ type: "key", index: epoch, key: key.slice().buffer, send });
    this.held.set(epoch & 0xff, epoch);
    if (send) {
      this.epoch = epoch;
      this.current = key;
      this.announce();
      // Every older key goes after a moment, key 0 (which the room secret alone gives) included:
      // frames already in flight still decrypt, nothing later does.
      setTimeout(() => this.forgetBefore(epoch), FORGET_AFTER_MS);
    }
  }

  forgetBefore(epoch) {
    const stale = [...this.held].filter(([, held]) => held < epoch).map(([index]) => index);
    for (const index of stale) this.held.delete(index);
    if (stale.length) this.worker.postMessage({ type: "forget", indexes: stale });
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
    this.keySeq = me.seq;
    for (const peer of peers) this.peers.set(peer.pid, { seq: peer.seq, publicKey: null });
    await this.hello();
  }

  /**
   * Our connection resumed after a gap in which messages to us were dropped: forget who left (the
   * leader rotates), learn who came, and say hello again so that newcomers verify us and the leader
   * hands over a key we may have missed.
   */
  async resync(peers) {
    await this.ready;
    const present = new Set(peers.map((p) => p.pid));
    let left = false;
    for (const pid of [...this.peers.keys()]) {
      if (!present.has(pid)) left = this.peers.delete(pid) || left;
    }
    for (const peer of peers) if (!this.peers.has(peer.pid)) this.peers.set(peer.pid, { seq: peer.seq, publicKey: null });
    await this.hello();
    if (left && this.leader() === this.me.pid) await this.rotate();
  }

  /** A peer's connection resumed: what the leader sent it during its gap may be lost. */
  async peerResumed(pid) {
    await this.ready;
    const peer = this.peers.get(pid);
    if (peer?.publicKey && this.leader() === this.me.pid && this.epoch > 0) await this.deliver(pid, peer.publicKey, this.epoch, this.current);
  }

  async hello(to = undefined) {
    const tag = await helloTag(this.keys.auth, this.roomId, this.me.pid, this.pair.publicKey);
    this.send({ type: "e2ee", ...(to ? { to } : {}), payload: JSON.stringify({ k: "hello", pub: this.pair.publicKey, tag }) });
  }

  /** The earliest joiner among us and the peers who proved the room secret: nobody else can stall rotation. */
  leader() {
    let best = this.me;
    for (const [pid, peer] of this.peers) if (peer.publicKey && peer.seq < best.seq) best = { pid, seq: peer.seq };
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
    this.keySeq = this.me.seq;
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
      // Two participants who both thought they led made two keys of one epoch: the earlier joiner's wins.
      const tie = message.epoch === this.epoch && peer.seq < this.keySeq;
      if (key && (message.epoch > this.epoch || this.epoch === 0 || tie)) {
        this.keySeq = peer.seq;
        this.install(message.epoch, key, true);
      }
    }
  }
}
