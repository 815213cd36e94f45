// The page after creation: binds the key the creation page made to the new room, in this browser only,
// and shows it once so that the organiser can carry it to another device (docs/decisions/0010).
import { copyButton, keyGet, keyPut, keysSweep, PENDING_CREATED, pendingTake } from "./keystore.js";

keysSweep();
const root = document.getElementById("created");
if (root) {
  const made = pendingTake(PENDING_CREATED);
  if (made) keyPut(root.dataset.roomId, made, root.dataset.until);
  const secret = keyGet(root.dataset.roomId) || made;
  const panel = root.querySelector("[data-key-panel]");
  if (panel && secret) {
    panel.querySelector("[data-key-value]").textContent = secret;
    panel.querySelector("[data-key-held]").hidden = false;
    panel.querySelector("[data-key-none]").hidden = true;
    copyButton(panel.querySelector("[data-key-copy]"), secret);
  }
}
