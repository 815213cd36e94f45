// The room page's elements and screens, shared by the room's modules.
import { t } from "./i18n.js";

export const $ = (id) => document.getElementById(id);
export const app = $("room-app");

export function show(state) {
  app.dataset.state = state;
  for (const section of app.querySelectorAll("[data-screen]")) section.hidden = section.dataset.screen !== state;
}

export function finish(titleKey, textKey = "") {
  $("ended-title").textContent = t(titleKey);
  $("ended-text").textContent = textKey ? t(textKey) : "";
  show("ended");
}
