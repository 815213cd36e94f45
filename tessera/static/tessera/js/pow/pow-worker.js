// Finds a nonce such that SHA-256("<challenge>:<nonce>") starts with `bits` zero bits (see tessera/core/pow.py).
import { solve } from "./pow.js";

self.onmessage = async ({ data }) => {
  const nonce = await solve(data.challenge, data.bits);
  self.postMessage({ nonce: String(nonce) });
};
