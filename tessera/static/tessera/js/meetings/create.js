// Creation form: preselect the browser's time zone and forbid past dates in the date picker; make the
// meeting key here, in the organiser's browser (docs/decisions/0010).
import { secretMake } from "./fragment.js";
import { keysSweep, PENDING_CREATED, pendingPut } from "./keystore.js";

keysSweep();
const form = document.querySelector("form.meeting-form");
if (form) {
  const zone = form.elements.time_zone;
  const browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (zone && !form.querySelector(".errorlist") && [...zone.options].some((o) => o.value === browserZone)) {
    zone.value = browserZone;
  }
  const date = form.elements.date;
  if (date) {
    const today = new Date();
    const pad = (n) => String(n).padStart(2, "0");
    date.min = `${today.getFullYear()}-${pad(today.getMonth() + 1)}-${pad(today.getDate())}`;
  }
  // The key is sent only when the organiser chose links that carry it; otherwise it waits in this tab
  // until the next page knows the room's id, and is never posted.
  form.addEventListener("submit", () => {
    const secret = secretMake();
    const field = form.querySelector("[data-room-secret]");
    const inLinks = !!(form.elements.key_in_links && form.elements.key_in_links.checked);
    if (field) {
      field.value = inLinks ? secret : "";
      field.disabled = !inLinks;
    }
    pendingPut(PENDING_CREATED, secret);
  });
}
