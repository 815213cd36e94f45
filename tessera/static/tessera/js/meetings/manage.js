// Management link: `/m/manage/<id>#<manage-token>`, or `#<manage-token>.<room-secret>` when the meeting's
// links carry the key (docs/decisions/0010). Only the token is posted, in a form body. The key stays in
// this browser: it is read from the fragment or from this browser's storage, put back in the address bar
// with the token, and used to build the organiser's room link. Only for a meeting whose links carry the
// key is it added to the forms whose action sends emails.
import { parseKey, ROOM_SECRET, secretMake } from "./fragment.js";
import { copyButton, keyGet, keyPut, keysSweep, pendingManaged, pendingPut, pendingTake } from "./keystore.js";

keysSweep();

const opener = document.querySelector("form[data-auto-submit]");
if (opener) {
  const parsed = parseKey(window.location.hash);
  if (parsed) {
    if (parsed.secret) pendingPut(pendingManaged(opener.dataset.publicId), parsed.secret);
    opener.elements.key.value = parsed.token;
    opener.submit();
  } else {
    opener.querySelector("[data-missing-key]").hidden = false;
  }
}

/** A key typed or pasted: the key itself, or a link whose fragment ends with it. */
function pasted(text) {
  const value = (text || "").trim();
  if (ROOM_SECRET.test(value)) return value;
  const last = value.split(/[#.]/).pop();
  return ROOM_SECRET.test(last) ? last : "";
}

const manage = document.getElementById("manage");
if (manage) {
  const { key: token, roomId, until, publicId } = manage.dataset;
  const keyInLinks = manage.dataset.keyInLinks === "true";
  const panel = manage.querySelector("[data-key-panel]");
  const roomLink = manage.querySelector("[data-room-link]");
  const roomPath = roomLink ? roomLink.getAttribute("href").split("#")[0] : "";

  function use(secret) {
    const fragment = secret ? `${token}.${secret}` : token;
    if (window.location.hash.slice(1) !== fragment) {
      window.history.replaceState(null, "", `${window.location.pathname}#${fragment}`);
    }
    // Without a key the organiser still enters; the room waits for someone who holds it to hand it over.
    if (roomLink) roomLink.setAttribute("href", `${roomPath}#o.${fragment}`);
    if (keyInLinks && secret) {
      for (const input of manage.querySelectorAll("[data-testid=guest-link]")) {
        const [base, fragment = ""] = input.value.split("#");
        input.value = `${base}#${fragment.split(".")[0]}.${secret}`;
      }
      for (const form of manage.querySelectorAll("form[data-needs-key]")) {
        let field = form.querySelector("input[name=room_secret]");
        if (!field) {
          field = document.createElement("input");
          field.type = "hidden";
          field.name = "room_secret";
          form.append(field);
        }
        field.value = secret;
      }
    }
    if (!panel) return;
    panel.querySelector("[data-key-held]").hidden = !secret;
    panel.querySelector("[data-key-missing]").hidden = !!secret;
    if (secret) panel.querySelector("[data-key-value]").textContent = secret;
  }

  const fromLink = pendingTake(pendingManaged(publicId));
  if (fromLink) keyPut(roomId, fromLink, until);
  let secret = fromLink || keyGet(roomId);
  use(secret);

  if (panel) {
    copyButton(panel.querySelector("[data-key-copy]"), () => secret);
    const input = panel.querySelector("[data-key-input]");
    const invalid = panel.querySelector("[data-key-invalid]");
    const adopt = (value) => {
      secret = value;
      keyPut(roomId, secret, until);
      use(secret);
    };
    panel.querySelector("[data-key-use]").addEventListener("click", () => {
      const value = pasted(input.value);
      invalid.hidden = !!value;
      input.setAttribute("aria-invalid", value ? "false" : "true");
      if (value) adopt(value);
    });
    const make = panel.querySelector("[data-key-new]");
    if (make) make.addEventListener("click", () => adopt(secretMake()));
  }
}
