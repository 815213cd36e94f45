// The page after "Start a meeting now": makes the meeting key here, keeps it in this browser only, and
// builds the organiser's room link `#o.<manage-token>.<key>` from it. The key is never posted; the guest
// link carries none, so guests are handed it in the room (docs/decisions/0010).
import { secretMake } from "./fragment.js";
import { keyGet, keyPut, keysSweep } from "./keystore.js";

keysSweep();
const root = document.getElementById("instant");
if (root) {
  const { roomId, until, manageToken, roomPath } = root.dataset;
  let secret = keyGet(roomId);
  if (!secret) {
    secret = secretMake();
    keyPut(roomId, secret, until);
  }
  const link = `${window.location.origin}${roomPath}#o.${manageToken}.${secret}`;
  root.querySelector("[data-join]").setAttribute("href", link);
  root.querySelector("[data-organiser-link]").value = link;
  root.querySelector("[data-organiser]").hidden = false;

  for (const button of root.querySelectorAll("[data-copy]")) {
    const input = document.getElementById(button.dataset.copy);
    button.addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(input.value);
        button.textContent = button.dataset.copied;
      } catch {
        input.select(); // no clipboard access: the link is selected for the person to copy
      }
    });
  }
}
