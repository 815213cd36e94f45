// The organiser's lobby list, atop the participants panel: who waits, with Admit and Deny.
import { t } from "./i18n.js";
import { $ } from "./page.js";

/** Room methods (mixed into the Room): `this` is the room. */
export const lobby = {
  async renderLobby(waiting) {
    const list = $("lobby-list");
    const items = [];
    for (const person of waiting) {
      await this.peerName(person);
      const item = document.createElement("li");
      const name = document.createElement("span");
      name.textContent = this.names.get(person.pid);
      const yes = Object.assign(document.createElement("button"), { type: "button", textContent: t("admit") });
      yes.dataset.admit = "yes";
      yes.dataset.pid = person.pid;
      const no = Object.assign(document.createElement("button"), { type: "button", textContent: t("deny"), className: "secondary" });
      no.dataset.admit = "no";
      no.dataset.pid = person.pid;
      item.append(name, " ", yes, " ", no);
      items.push(item);
    }
    list.replaceChildren(...items);
    $("lobby-panel").hidden = items.length === 0;
    if (items.length) {
      // The organiser sees who waits without looking for it, unless another panel is in use.
      if ($("side").hidden) this.openPanel("people");
      this.toast(t("someone_waiting"));
    }
  },
};
