// The participants panel: every name the room holds (decrypted), microphone and camera state, raised hands
// first in the order they went up, who waits for the key, and the organiser's controls.
import { t } from "./i18n.js";
import { paintAvatar } from "./layout.js";
import { $ } from "./page.js";

const SVG = "http://www.w3.org/2000/svg";

/** An icon from the page's sprite; with a label it is announced, without it is decoration. */
export function icon(name, label = "") {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("class", "icon");
  if (label) {
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", label);
  } else {
    svg.setAttribute("aria-hidden", "true");
  }
  const use = document.createElementNS(SVG, "use");
  use.setAttribute("href", `#${name}`);
  svg.append(use);
  return svg;
}

function actionButton(act, iconName, label, extra = "") {
  const button = document.createElement("button");
  button.type = "button";
  button.className = `icon-button ${extra}`.trim();
  button.dataset.act = act;
  button.setAttribute("aria-label", label);
  button.append(icon(iconName));
  return button;
}

/**
 * The panel's order: raised hands by the rank they took, then oneself, then the others by name.
 * `people` lists { pid, name, self, hand } where `hand` is the rank or 0.
 */
export function orderPeople(people) {
  const byName = (a, b) => a.name.localeCompare(b.name);
  const hands = people.filter((p) => p.hand).sort((a, b) => a.hand - b.hand);
  const rest = people.filter((p) => !p.hand);
  return [...hands, ...rest.filter((p) => p.self), ...rest.filter((p) => !p.self).sort(byName)];
}

/** Room methods (mixed into the Room): `this` is the room. */
export const people = {
  schedulePeople() {
    if (this.peopleTimer) return;
    this.peopleTimer = setTimeout(() => {
      this.peopleTimer = null;
      this.renderPeople();
    }, 30);
  },

  /** Everyone in the call, this page included, as the panel and the toolbar count show them. */
  participants() {
    const order = this.handOrder || new Map();
    const waiting = t("waiting_for_key");
    const list = [
      {
        pid: "self", self: true, name: this.myName || t("you"), audio: this.media.audioOn, video: this.media.videoOn,
        hand: this.hand ? order.get("self") || 0 : 0, keyless: !this.keys,
      },
    ];
    const peers = new Set([...this.stage.tiles.values()].map((tile) => tile.dataset.pid).filter((pid) => pid !== "self"));
    for (const pid of peers) {
      const state = this.states.get(pid) || {};
      const name = this.names.get(pid) || t("someone");
      list.push({
        pid, self: false, name: name === waiting ? t("someone") : name, audio: state.audio !== false, video: state.video !== false,
        hand: state.hand ? order.get(pid) || 0 : 0, keyless: name === waiting || this.notes?.get(pid) === "waiting",
      });
    }
    return orderPeople(list);
  },

  renderPeople() {
    const list = this.participants();
    $("people-count").textContent = String(list.length);
    $("people-total").textContent = String(list.length);
    if ($("people-panel").hidden) return; // drawn when opened
    const organiser = this.role === "organiser";
    const rows = list.map((person) => {
      const row = document.createElement("li");
      row.className = "person";
      row.dataset.pid = person.pid;
      const avatar = document.createElement("span");
      avatar.className = "avatar";
      avatar.setAttribute("aria-hidden", "true");
      paintAvatar(avatar, person.name);
      const text = document.createElement("span");
      text.className = "person-text";
      const name = document.createElement("span");
      name.className = "person-name";
      name.textContent = person.self ? t("you_label", { name: person.name }) : person.name;
      text.append(name);
      const note = person.keyless ? ["waiting", t("waiting_for_key")] : person.hand ? ["hand-note", t("hand_raised")] : null;
      if (note) {
        const line = document.createElement("span");
        line.className = `person-note ${note[0]}`;
        line.textContent = note[1];
        text.append(line);
      }
      const state = document.createElement("span");
      state.className = "person-state";
      if (person.hand) {
        const hand = icon("i-hand", t("hand_raised"));
        hand.classList.add("raised");
        state.append(hand);
      }
      state.append(person.audio ? icon("i-mic", t("mic_on")) : icon("i-mic-off", t("mic_off")));
      state.append(person.video ? icon("i-video", t("camera_is_on")) : icon("i-video-off", t("camera_is_off")));
      for (const svg of state.querySelectorAll("svg")) {
        if (svg.querySelector("use").getAttribute("href").endsWith("-off")) svg.classList.add("off");
      }
      const actions = document.createElement("span");
      actions.className = "person-actions";
      const pinKey = `${person.pid}:camera`;
      const pin = actionButton("pin", "i-pin", t("pin_name", { name: person.name }));
      pin.setAttribute("aria-pressed", String(this.stage.pinned === pinKey));
      actions.append(pin);
      if (organiser && !person.self) {
        if (person.audio) actions.append(actionButton("mute", "i-mic-off", t("ask_to_mute_name", { name: person.name })));
        actions.append(actionButton("remove", "i-remove", t("remove_name", { name: person.name }), "danger-tool"));
      }
      row.append(avatar, text, state, actions);
      return row;
    });
    // Keep the focused control across a redraw, so that the keyboard does not lose its place.
    const focused = document.activeElement?.closest?.("#people-list [data-pid]");
    const focusAct = focused && document.activeElement.dataset.act;
    $("people-list").replaceChildren(...rows);
    if (focused) {
      const again = $("people-list").querySelector(`[data-pid="${CSS.escape(focused.dataset.pid)}"] [data-act="${focusAct}"]`);
      (again || $("people-list").querySelector("button"))?.focus();
    }
  },
};
