// The toolbar's frame: side panels (participants, chat), the "More" and reactions menus, the devices and
// shortcuts dialogs, the keyboard shortcuts, and the warning shown when our own uplink suffers.
import { t } from "./i18n.js";
import { mediaErrorKey, speakerTest } from "./media.js";
import { $, app } from "./page.js";

// Single keys press the toolbar's buttons; leaving needs Ctrl+Shift+L so that a stray key never ends a call.
export const SHORTCUTS = { m: "mic-button", v: "camera-button", s: "screen-button", h: "hand-button", c: "chat-toggle", p: "people-toggle", l: "view-button" };

/** True when a key press belongs to what the person is typing, not to the room. */
export function typing(target) {
  return !!target?.closest?.("input, textarea, select, [contenteditable=''], [contenteditable='true']");
}

/** Room methods (mixed into the Room): `this` is the room. */
export const toolbar = {
  bindToolbar() {
    $("people-toggle").onclick = () => this.togglePanel("people");
    $("chat-toggle").onclick = () => this.togglePanel("chat");
    for (const button of document.querySelectorAll("[data-close-panel]")) button.onclick = () => this.closePanel();
    $("more-button").onclick = () => this.menu("tools-extra", "more-button");
    $("reactions-button").onclick = () => this.menu("reactions-menu", "reactions-button");
    $("help-button").onclick = () => this.dialog("shortcuts-dialog");
    $("settings-button").onclick = () => this.openSettings();
    // A choice in a menu closes it (the organiser's confirm dialogs included).
    $("tools-extra").addEventListener("click", (event) => event.target.closest("button") && this.closeMenus());
    $("reactions-menu").addEventListener("click", (event) => event.target.closest("button") && this.closeMenus());
    document.addEventListener("click", (event) => {
      if (!event.target.closest(".more-wrap, .reactions-wrap")) this.closeMenus();
    });
    document.addEventListener("keydown", (event) => this.onKey(event));
    // A message from someone else while the chat is not the open panel marks the chat button.
    new MutationObserver((changes) => {
      const news = changes.some((c) => [...c.addedNodes].some((n) => n.classList && !n.classList.contains("mine")));
      if (news && !this.panelOpen("chat")) $("chat-toggle").classList.add("has-news");
    }).observe($("chat-log"), { childList: true });
    this.bindSettings();
  },

  onKey(event) {
    if (app.dataset.state !== "in-room" || event.defaultPrevented) return;
    if (event.key === "Escape") {
      if (document.querySelector("dialog[open]")) return; // the dialog closes itself
      if (this.closeMenus()) event.preventDefault();
      else if (!$("side").hidden) {
        event.preventDefault();
        this.closePanel();
      }
      return;
    }
    if (event.ctrlKey && event.shiftKey && !event.altKey && !event.metaKey && event.code === "KeyL") {
      event.preventDefault();
      $("leave-button").click();
      return;
    }
    if (event.ctrlKey || event.altKey || event.metaKey || event.repeat || typing(event.target)) return;
    if (document.querySelector("dialog[open]")) return;
    if (event.key === "?") {
      event.preventDefault();
      this.dialog("shortcuts-dialog");
      return;
    }
    const id = SHORTCUTS[event.key.toLowerCase()];
    if (!id) return;
    event.preventDefault();
    $(id).click();
  },

  // --- side panels --------------------------------------------------------------------------------

  togglePanel(name) {
    if (!$("side").hidden && $("side").dataset.panel === name) this.closePanel();
    else this.openPanel(name, { focus: true });
  },

  /** `focus` moves the keyboard into the panel (a panel opening by itself does not take it). */
  openPanel(name, { focus = false } = {}) {
    const side = $("side");
    side.hidden = false;
    side.dataset.panel = name;
    $("people-panel").hidden = name !== "people";
    $("chat-panel").hidden = name !== "chat";
    $("people-toggle").setAttribute("aria-expanded", String(name === "people"));
    $("chat-toggle").setAttribute("aria-expanded", String(name === "chat"));
    if (name === "chat") $("chat-toggle").classList.remove("has-news");
    if (name === "people") this.renderPeople();
    if (focus) (name === "chat" ? $("chat-input") : $("people-panel").querySelector(".panel-close")).focus();
  },

  closePanel() {
    const side = $("side");
    const was = side.dataset.panel;
    // Focus inside the panel goes back to the button that opened it, not to the page's top.
    const inside = side.contains(document.activeElement) || document.activeElement === document.body;
    side.hidden = true;
    side.dataset.panel = "";
    $("people-toggle").setAttribute("aria-expanded", "false");
    $("chat-toggle").setAttribute("aria-expanded", "false");
    if (was && inside) $(was === "chat" ? "chat-toggle" : "people-toggle").focus();
  },

  panelOpen(name) {
    return !$("side").hidden && $("side").dataset.panel === name;
  },

  // --- menus and dialogs --------------------------------------------------------------------------

  menu(id, buttonId) {
    const box = $(id);
    const open = !(box.classList.contains("open") || (id === "reactions-menu" && !box.hidden));
    this.closeMenus();
    if (!open) return;
    if (id === "reactions-menu") box.hidden = false;
    box.classList.add("open");
    $(buttonId).setAttribute("aria-expanded", "true");
    box.querySelector("button:not([hidden])")?.focus();
  },

  /** Close the open menus; true when one was open. */
  closeMenus() {
    let closed = false;
    for (const [id, buttonId] of [["tools-extra", "more-button"], ["reactions-menu", "reactions-button"]]) {
      const box = $(id);
      if (!box.classList.contains("open")) continue;
      closed = true;
      box.classList.remove("open");
      if (id === "reactions-menu") box.hidden = true;
      $(buttonId).setAttribute("aria-expanded", "false");
      if (box.contains(document.activeElement)) $(buttonId).focus();
    }
    return closed;
  },

  dialog(id) {
    this.closeMenus();
    const dialog = $(id);
    if (!dialog.open) dialog.showModal();
  },

  // --- devices inside the call --------------------------------------------------------------------

  bindSettings() {
    const error = (e) => {
      $("settings-error").textContent = t(mediaErrorKey(e));
      $("settings-error").hidden = false;
    };
    $("settings-camera").onchange = async (e) => {
      this.media.videoId = e.target.value;
      // The new camera replaces the old one in every connection (the media's "track" event).
      if (this.media.videoOn) await this.media.acquire("video").catch(error);
    };
    $("settings-mic").onchange = async (e) => {
      this.media.audioId = e.target.value;
      if (!this.media.audioTrack && !this.media.audioOn) return;
      const track = await this.media.acquire("audio").catch(error);
      if (track) track.enabled = this.media.audioOn; // muted stays muted
    };
    $("settings-speaker").onchange = (e) => {
      this.sinkId = e.target.value;
      this.stage.setSink(this.sinkId);
    };
    $("settings-speaker-test").onclick = () => speakerTest(this.sinkId);
    navigator.mediaDevices?.addEventListener?.("devicechange", () => $("settings-dialog").open && this.fillSettings());
  },

  async openSettings() {
    $("settings-error").hidden = true;
    await this.fillSettings();
    this.dialog("settings-dialog");
  },

  async fillSettings() {
    let devices;
    try {
      devices = await this.media.devices();
    } catch {
      return;
    }
    const current = {
      videoinput: this.media.videoTrack?.getSettings().deviceId || this.media.videoId,
      audioinput: this.media.audioTrack?.getSettings().deviceId || this.media.audioId,
      audiooutput: this.sinkId || "default",
    };
    for (const [id, kind] of [["settings-camera", "videoinput"], ["settings-mic", "audioinput"], ["settings-speaker", "audiooutput"]]) {
      const select = $(id);
      select.replaceChildren(
        ...devices[kind].map((d, i) => {
          const option = new Option(d.label || `${kind} ${i + 1}`, d.deviceId);
          option.selected = d.deviceId === current[kind];
          return option;
        }),
      );
      select.disabled = devices[kind].length === 0;
    }
  },

  // --- our own uplink ------------------------------------------------------------------------------

  /** Shown after three poor looks in a row, hidden after two good ones: a passing blip shows nothing. */
  uplink(poor) {
    this.uplinkRun = poor === this.uplinkPoor ? (this.uplinkRun || 0) + 1 : 1;
    this.uplinkPoor = poor;
    if (this.uplinkRun >= (poor ? 3 : 2)) $("network-warning").hidden = !poor;
  },
};
