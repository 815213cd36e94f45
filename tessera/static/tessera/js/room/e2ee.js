// Media keys: the worker that encrypts every frame, and the key exchange between participants.
// A deterministic leader (the key holder who joined first) hands the room key to each newcomer that holds
// none (decision 0010), hands the current media key to each verified newcomer, and rotates the key when
// anyone leaves (decision 0004). The safety code covers the key and the public keys this page verified.
import {
  appKey,
  b64uDecode,
  b64uEncode,
  ecdhKeyPair,
  helloTag,
  helloVerify,
  randomKey,
  roomKeys,
  safetyCode,
  unwrapMediaKey,
  unwrapRoom,
  wrapMediaKey,
  wrapRoom,
} from "./keys.js";

const FORGET_AFTER_MS = 4000;
// App messages wait longer in queues than frames: an older app key stays this long after a rotation.
const FORGET_APP_AFTER_MS = 30000;
// A page without the key asks again now and then: the leader may have left while its hand-over travelled.
const ASK_AGAIN_MS = 8000;

export function transformsSupported() {
  return typeof window.RTCRtpScriptTransform === "function";
}

export class E2EE extends EventTarget {
  /** `secret` is the room secret when the link carried it, "" when a participant must hand it over. */
  constructor({ roomId, secret = "", keys = null, send, plaintext = false }) {
    super();
    Object.assign(this, { roomId, secret, keys, send, plaintext });
    this.worker = new Worker(new URL("./e2ee-worker.js", import.meta.url), { type: "module", name: "e2ee" });
    this.epoch = 0;
    this.current = keys ? keys.media : null;
    this.keySeq = 0; // join order of whoever made the current key: the earliest wins a tie
    this.held = new Map(); // key index in the worker -> epoch
    // pid -> { seq, publicKey (once its hello proved the room secret), offered: { pub, tag } (its last
    // hello, kept until this page can check it), waiting (it announced that it holds no key) }
    this.peers = new Map();
    this.me = { pid: "", seq: 0 };
    this.handedBy = "";
    this.pendingHandovers = new Map(); // pid -> hand-over received before that participant's hello
    // pid -> public keys we handed the room key to: they count in our code while that participant is
    // here, verified or not, so that a key obtained through us is never obtained silently.
    this.handed = new Map();
    this.codeRun = 0;
    this.appKeys = new Map(); // key index -> { key, epoch }: the app-message keys of the held media keys
    this.appReady = Promise.resolve();
    this.ready = this.init();
  }

  get holds() {
    return this.keys !== null;
  }

  async init() {
    if (this.holds) this.install(0, this.keys.media, true);
    this.pair = await ecdhKeyPair();
  }

  install(epoch, key, send) {
    this.worker.postMessage({ type: "key", index: epoch, key: key.slice().buffer, send });
    this.held.set(epoch & 0xff, epoch);
    const derived = appKey(key, this.roomId).then((app) => this.appKeys.set(epoch & 0xff, { key: app, epoch }));
    this.appReady = Promise.all([this.appReady, derived]);
    if (send) {
      this.epoch = epoch;
      this.current = key;
      this.announce();
      // Every older key goes after a moment, key 0 (which the room secret alone gives) included:
      // frames already in flight still decrypt, nothing later does.
      setTimeout(() => this.forgetBefore(epoch), FORGET_AFTER_MS);
      setTimeout(() => {
        for (const [index, held] of this.appKeys) if (held.epoch < epoch) this.appKeys.delete(index);
      }, FORGET_APP_AFTER_MS);
    }
  }

  /** Seal an app message under the current media key's app key: base64url(index | iv | ciphertext). */
  async sealApp(text) {
    await this.appReady;
    const held = this.appKeys.get(this.epoch & 0xff);
    const iv = globalThis.crypto.getRandomValues(new Uint8Array(12));
    const ct = new Uint8Array(await globalThis.crypto.subtle.encrypt({ name: "AES-GCM", iv }, held.key, new TextEncoder().encode(text)));
    const out = new Uint8Array(1 + iv.length + ct.length);
    out.set([this.epoch & 0xff]);
    out.set(iv, 1);
    out.set(ct, 13);
    return b64uEncode(out);
  }

  /** The text of an app message, or null when its key is not (or no longer) held, or it was altered. */
  async openApp(payload) {
    await this.appReady;
    try {
      const bytes = b64uDecode(payload);
      const held = this.appKeys.get(bytes[0]);
      if (!held) return null;
      const plain = await globalThis.crypto.subtle.decrypt({ name: "AES-GCM", iv: bytes.subarray(1, 13) }, held.key, bytes.subarray(13));
      return new TextDecoder().decode(plain);
    } catch {
      return null;
    }
  }

  forgetBefore(epoch) {
    const stale = [...this.held].filter(([, held]) => held < epoch).map(([index]) => index);
    for (const index of stale) this.held.delete(index);
    if (stale.length) this.worker.postMessage({ type: "forget", indexes: stale });
  }

  /** The public keys the code covers: ours and those of the participants whose hello verified. */
  roster() {
    const keys = this.pair ? [this.pair.publicKey] : [];
    for (const peer of this.peers.values()) if (peer.publicKey) keys.push(peer.publicKey);
    for (const pubs of this.handed.values()) keys.push(...pubs);
    return [...new Set(keys)];
  }

  async announce() {
    if (!this.holds) return;
    const run = ++this.codeRun;
    await this.ready;
    const code = await safetyCode(this.current, this.roster());
    // Codes are computed concurrently: only the latest state's code is shown.
    if (run === this.codeRun) this.dispatchEvent(new CustomEvent("key", { detail: { epoch: this.epoch, code, roster: this.roster().length } }));
  }

  senderTransform(sender, kind) {
    if (!this.plaintext) sender.transform = new RTCRtpScriptTransform(this.worker, { operation: "encrypt", kind });
  }

  receiverTransform(receiver, kind) {
    if (!this.plaintext) receiver.transform = new RTCRtpScriptTransform(this.worker, { operation: "decrypt", kind });
  }

  peerAdd(peer) {
    if (!this.peers.has(peer.pid)) this.peers.set(peer.pid, { seq: peer.seq, publicKey: null, offered: null, waiting: false });
  }

  async start(me, peers) {
    await this.ready;
    this.me = me;
    this.keySeq = me.seq;
    for (const peer of peers) this.peerAdd(peer);
    await this.hello();
    if (this.holds) this.announce();
    else this.askAgainLater();
  }

  /** We joined again under a new participant id (our node was lost, and another one made the room again):
   * everyone we knew is gone with their ids, and comes back verified by a new hello. The key is kept. */
  async rejoin(me, peers) {
    await this.ready;
    this.peers.clear();
    this.pendingHandovers.clear();
    this.handed.clear();
    await this.start(me, peers);
  }

  askAgainLater() {
    clearTimeout(this.askTimer);
    if (this.holds) return;
    this.askTimer = setTimeout(async () => {
      if (this.holds) return;
      if (this.peers.size) await this.hello();
      this.askAgainLater();
    }, ASK_AGAIN_MS);
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
    for (const peer of peers) this.peerAdd(peer);
    await this.hello();
    if (left && this.holds && this.leader() === this.me.pid) await this.rotate();
    else if (left) this.announce();
  }

  /** A peer's connection resumed: what the leader sent it during its gap may be lost. */
  async peerResumed(pid) {
    await this.ready;
    const peer = this.peers.get(pid);
    if (!peer || !this.holds || this.leader() !== this.me.pid) return;
    if (peer.waiting && peer.offered) await this.handOver(pid, peer.offered.pub);
    else if (peer.publicKey && this.epoch > 0) await this.deliver(pid, peer.publicKey, this.epoch, this.current);
  }

  /** A hello proves the room secret with a tag; without the key it is a request for the hand-over. */
  async hello(to = undefined) {
    const tag = this.holds ? await helloTag(this.keys.auth, this.roomId, this.me.pid, this.pair.publicKey) : undefined;
    const payload = JSON.stringify(tag ? { k: "hello", pub: this.pair.publicKey, tag } : { k: "hello", pub: this.pair.publicKey });
    this.send({ type: "e2ee", ...(to ? { to } : {}), payload });
  }

  /** The earliest joiner among the key holders (us included when we hold it); "" when none is known. */
  leader() {
    let best = this.holds ? this.me : null;
    for (const [pid, peer] of this.peers) if (peer.publicKey && (!best || peer.seq < best.seq)) best = { pid, seq: peer.seq };
    return best ? best.pid : "";
  }

  async peerJoined(peer) {
    await this.ready;
    this.peerAdd(peer);
    await this.hello(peer.pid);
  }

  async peerLeft(pid) {
    await this.ready;
    this.pendingHandovers.delete(pid);
    this.handed.delete(pid);
    if (!this.peers.delete(pid)) return;
    if (!this.holds) {
      // The leader may have gone with our hand-over: whoever leads now hears us again.
      await this.hello();
      return;
    }
    if (this.leader() === this.me.pid) {
      await this.rotate();
      await this.serveWaiting();
    } else {
      this.announce();
    }
  }

  /** We lead now (we just received the key, or the leader left): hand it to whoever still waits. */
  async serveWaiting() {
    if (!this.holds || this.leader() !== this.me.pid) return;
    for (const [pid, peer] of this.peers) if (peer.waiting && peer.offered) await this.handOver(pid, peer.offered.pub);
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

  /** The room secret and the current media key, for this newcomer's ephemeral key only. */
  async handOver(pid, publicKey) {
    if (!this.handed.has(pid)) this.handed.set(pid, new Set());
    this.handed.get(pid).add(publicKey);
    this.announce();
    const wrapped = await wrapRoom({
      privateKey: this.pair.privateKey, theirPublicKey: publicKey, roomId: this.roomId,
      from: this.me.pid, to: pid, secret: this.secret, epoch: this.epoch, key: this.current,
    });
    this.send({ type: "e2ee", to: pid, payload: JSON.stringify({ k: "room", ...wrapped }) });
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
    if (!peer || typeof message !== "object" || message === null) return;
    if (message.k === "hello" && typeof message.pub === "string") return this.onHello(from, peer, message);
    if (message.k === "room") return this.onHandover(from, peer, message);
    if (message.k === "key" && this.holds && peer.publicKey && Number.isInteger(message.epoch) && message.epoch >= this.epoch) {
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

  async onHello(from, peer, message) {
    const tag = typeof message.tag === "string" ? message.tag : "";
    if (!tag) {
      // A participant whose hello proved the key never needs it handed over: a request in its name comes
      // from someone else (the server could forge one), and is ignored.
      if (peer.publicKey) return;
      // It holds no key and asks for it. Whoever leads the holders hands it over; from then on its public
      // key counts in the leader's code (see `handed`), and in everyone's once its tagged hello verifies.
      peer.offered = { pub: message.pub, tag };
      peer.waiting = true;
      this.dispatchEvent(new CustomEvent("waiting", { detail: { pid: from } }));
      if (this.holds && this.leader() === this.me.pid) await this.handOver(from, message.pub);
      return;
    }
    peer.offered = { pub: message.pub, tag };
    peer.waiting = false;
    if (!this.holds) {
      // Checked once a hand-over gives us the key; a hand-over that came first waited for this hello.
      const pending = this.pendingHandovers.get(from);
      if (pending) {
        this.pendingHandovers.delete(from);
        await this.onHandover(from, peer, pending);
      }
      return;
    }
    await this.verify(from, peer, true);
  }

  /** Check a participant's last hello against the key; returns whether it verified. */
  async verify(pid, peer, answer) {
    const { pub, tag } = peer.offered || {};
    if (!tag || !(await helloVerify(this.keys.auth, this.roomId, pid, pub, tag))) {
      if (tag) this.dispatchEvent(new CustomEvent("unverified", { detail: { pid } }));
      return false;
    }
    const known = peer.publicKey;
    peer.publicKey = pub;
    this.dispatchEvent(new CustomEvent("verified", { detail: { pid } }));
    if (known !== pub) this.announce();
    if (!answer) return true;
    if (!known) await this.hello(pid);
    // The leader hands the current key over, encrypted for this participant only.
    if (this.leader() === this.me.pid && this.epoch > 0) await this.deliver(pid, pub, this.epoch, this.current);
    return true;
  }

  async onHandover(from, peer, message) {
    if (this.holds) return;
    if (!peer.offered?.tag) {
      // Its hello (which proves that it holds the key it hands over) has not arrived yet.
      this.pendingHandovers.set(from, message);
      return;
    }
    const room = await unwrapRoom({
      privateKey: this.pair.privateKey, theirPublicKey: peer.offered.pub, roomId: this.roomId,
      from, to: this.me.pid, iv: message.iv, ct: message.ct,
    });
    if (!room || this.holds) return;
    const keys = await roomKeys(room.secret, this.roomId);
    // A hand-over counts only from a participant whose own hello is tagged with the key it hands over.
    if (!(await helloVerify(keys.auth, this.roomId, from, peer.offered.pub, peer.offered.tag))) return;
    this.keys = keys;
    this.secret = room.secret;
    this.handedBy = from;
    clearTimeout(this.askTimer);
    this.keySeq = peer.seq;
    this.install(room.epoch, room.key, true);
    for (const [pid, other] of this.peers) if (other.offered?.tag) await this.verify(pid, other, false);
    this.dispatchEvent(new CustomEvent("handover", { detail: { pid: from } }));
    // Everyone now verifies us, and the leader sends the current key again should it have changed.
    await this.hello();
    this.announce();
    await this.serveWaiting();
  }
}
