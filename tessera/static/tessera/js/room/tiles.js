// Video tiles: one per participant's camera, one per shared screen. A grid fitted to the stage in pages of
// 25 tiles, or one featured tile (pinned, shared screen, or the active speaker) beside a filmstrip.

export const PAGE_SIZE = 25;
const GAP = 8; // px between tiles, as in room.css
const RATIO = 16 / 9;
const PORTRAIT = 3 / 4; // on a phone held upright, taller tiles use the screen better

/** Columns and tile width that make `count` tiles of `ratio` (width / height) as large as `width` x `height` allows. */
export function fitGrid(count, width, height, gap = GAP, ratio = RATIO) {
  let best = { cols: 1, tileWidth: 0 };
  for (let cols = 1; cols <= Math.max(1, count); cols++) {
    const rows = Math.ceil(count / cols);
    const tileWidth = Math.min((width - gap * (cols - 1)) / cols, ((height - gap * (rows - 1)) / rows) * ratio);
    if (tileWidth > best.tileWidth) best = { cols, tileWidth: Math.floor(tileWidth) };
  }
  return best;
}

function element(tag, className, attributes = {}) {
  const node = document.createElement(tag);
  node.className = className;
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  return node;
}

function iconButton(icon, label) {
  const button = element("button", "icon-button", { type: "button", "aria-label": label });
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("class", "icon");
  svg.setAttribute("aria-hidden", "true");
  const use = document.createElementNS("http://www.w3.org/2000/svg", "use");
  use.setAttribute("href", `#${icon}`);
  svg.append(use);
  button.append(svg);
  return button;
}

export class Stage extends EventTarget {
  /** `labels` names the pager's buttons: { previous, next, page } with %(page)s and %(pages)s. */
  constructor(root, template, labels = {}) {
    super();
    this.root = root;
    this.template = template;
    this.labels = { previous: "Previous page", next: "Next page", page: "%(page)s / %(pages)s", ...labels };
    this.tiles = new Map(); // key "pid:kind" -> element, in the order they came
    this.view = "grid";
    this.pinned = null; // key of the pinned tile
    this.speaker = null; // pid of the active speaker
    this.page = 0;
    this.pageSize = PAGE_SIZE;
    this.sinkId = null; // the chosen speaker, for every voice of the call
    this.main = element("div", "stage-main");
    this.strip = element("div", "filmstrip", { role: "list" });
    this.pager = element("div", "pager", { role: "group" });
    this.pager.hidden = true;
    this.previous = iconButton("i-chevron-left", this.labels.previous);
    this.next = iconButton("i-chevron-right", this.labels.next);
    this.pageLabel = element("span", "pager-label");
    this.previous.onclick = () => this.turn(-1);
    this.next.onclick = () => this.turn(1);
    this.pager.append(this.previous, this.pageLabel, this.next);
    root.append(this.main, this.strip, this.pager);
    if (window.ResizeObserver) new ResizeObserver(() => this.fit()).observe(this.main);
  }

  setSink(sinkId) {
    this.sinkId = sinkId;
    for (const tile of this.tiles.values()) this.applySink(tile);
  }

  applySink(tile) {
    const video = tile.querySelector("video");
    if (this.sinkId == null || tile.classList.contains("local") || !video.setSinkId || video.sinkId === this.sinkId) return;
    video.setSinkId(this.sinkId).catch((error) => console.warn("speaker", error));
  }

  tile(pid, kind, { local = false } = {}) {
    const key = `${pid}:${kind}`;
    let tile = this.tiles.get(key);
    if (!tile) {
      tile = this.template.content.firstElementChild.cloneNode(true);
      tile.dataset.pid = pid;
      tile.dataset.kind = kind;
      tile.dataset.key = key;
      if (local) {
        tile.classList.add("local");
        tile.querySelector("video").muted = true;
      }
      this.tiles.set(key, tile);
      this.applySink(tile);
      this.main.append(tile);
      this.layout();
    }
    return tile;
  }

  attach(pid, kind, stream, options) {
    const tile = this.tile(pid, kind, options);
    const video = tile.querySelector("video");
    if (video.srcObject !== stream) {
      // Until a first frame arrives, the avatar rather than an empty tile.
      tile.classList.add("no-frame");
      video.addEventListener("loadeddata", () => tile.classList.remove("no-frame"), { once: true });
      video.srcObject = stream;
      video.play().catch(() => {});
    }
    return tile;
  }

  drop(pid, kind = null) {
    for (const [key, tile] of this.tiles) {
      if (tile.dataset.pid === pid && (!kind || tile.dataset.kind === kind)) {
        tile.querySelector("video").srcObject = null;
        tile.remove();
        this.tiles.delete(key);
        if (this.pinned === key) this.pinned = null;
      }
    }
    this.layout();
  }

  ofPeer(pid) {
    return [...this.tiles.values()].filter((t) => t.dataset.pid === pid);
  }

  videos() {
    return [...this.tiles.values()].map((t) => t.querySelector("video"));
  }

  setView(view) {
    this.view = view;
    if (view === "grid") this.pinned = null; // back to everyone
    this.layout();
  }

  /** Pin a tile (by key) in the featured slot, or unpin it when it is pinned already. */
  pin(key) {
    this.pinned = this.pinned === key || !this.tiles.has(key) ? null : key;
    this.layout();
    this.dispatchEvent(new CustomEvent("pin", { detail: { key: this.pinned } }));
  }

  speaking(pid) {
    this.speaker = pid;
    for (const tile of this.tiles.values()) tile.classList.toggle("speaking", tile.dataset.pid === pid && tile.dataset.kind === "camera");
    if (this.featuredMode()) this.layout();
  }

  turn(step) {
    this.page += step;
    this.layout();
  }

  featuredMode() {
    return Boolean(this.pinned || this.view === "speaker" || [...this.tiles.values()].some((t) => t.dataset.kind === "screen"));
  }

  /** The tile in the featured slot: pinned, else a shared screen, else the voice heard, else the last one featured. */
  featured() {
    const tiles = [...this.tiles.values()];
    if (this.pinned && this.tiles.has(this.pinned)) return this.tiles.get(this.pinned);
    const screen = tiles.find((t) => t.dataset.kind === "screen");
    if (screen) return screen;
    if (this.view !== "speaker") return null;
    return (
      this.tiles.get(`${this.speaker}:camera`) ||
      tiles.find((t) => t.classList.contains("featured")) ||
      tiles.find((t) => !t.classList.contains("local")) ||
      tiles[0] || null
    );
  }

  layout(speaker = undefined) {
    if (speaker !== undefined) this.speaker = speaker;
    const tiles = [...this.tiles.values()];
    const presenter = tiles.some((t) => t.dataset.kind === "screen");
    const featured = this.featured();
    this.root.classList.toggle("presenter", presenter);
    this.root.classList.toggle("speaker-view", !presenter && !!featured);
    this.root.classList.toggle("grid-view", !featured);
    this.root.dataset.count = String(tiles.length);
    for (const tile of tiles) {
      const pinned = tile.dataset.key === this.pinned;
      tile.classList.toggle("featured", tile === featured);
      tile.classList.toggle("pinned", pinned);
      tile.querySelector("[data-act=pin]")?.setAttribute("aria-pressed", String(pinned));
    }
    if (featured) {
      // Moving a playing video within the same task keeps it playing.
      if (featured.parentNode !== this.main) this.main.append(featured);
      for (const tile of tiles) {
        if (tile !== featured && tile.parentNode !== this.strip) this.strip.append(tile);
        tile.hidden = false;
      }
      this.pager.hidden = true;
      this.main.style.removeProperty("--cols");
      this.announceLayers();
      return;
    }
    // Grid: screens first, then in the order people came; a page at a time.
    const ordered = [...tiles.filter((t) => t.dataset.kind === "screen"), ...tiles.filter((t) => t.dataset.kind !== "screen")];
    const pages = Math.max(1, Math.ceil(ordered.length / this.pageSize));
    this.pages = pages;
    this.page = Math.min(Math.max(0, this.page), pages - 1);
    const first = this.page * this.pageSize;
    ordered.forEach((tile, index) => {
      if (tile.parentNode !== this.main) this.main.append(tile);
      tile.style.order = String(index);
      tile.hidden = index < first || index >= first + this.pageSize;
    });
    this.pager.hidden = pages < 2;
    this.pageLabel.textContent = this.labels.page.replace("%(page)s", this.page + 1).replace("%(pages)s", pages);
    this.previous.disabled = this.page === 0;
    this.next.disabled = this.page === pages - 1;
    this.fit();
  }

  /** Size the grid's tiles to the stage: as large as the visible tiles allow, never scrolling. */
  fit() {
    if (!this.root.classList.contains("grid-view")) return;
    const visible = [...this.tiles.values()].filter((t) => !t.hidden).length;
    const width = this.main.clientWidth;
    const height = this.main.clientHeight;
    if (!visible || !width || !height) return;
    const ratio = height > width * 1.2 ? PORTRAIT : RATIO;
    const { cols, tileWidth } = fitGrid(visible, width, height, GAP, ratio);
    this.main.style.setProperty("--ratio", String(ratio));
    this.main.style.setProperty("--cols", String(cols));
    this.main.style.setProperty("--tile-w", `${Math.max(80, tileWidth)}px`);
    this.announceLayers();
  }

  /**
   * The simulcast layer each remote camera needs as laid out now: high when featured or large, low in the
   * filmstrip or small, none when its tile is not shown (another grid page). Layers are 1280, 640 and
   * 320 pixels wide; a tile takes the smallest that covers it at this screen's pixel ratio.
   */
  wantedLayers() {
    const wanted = {};
    const ratio = window.devicePixelRatio || 1;
    for (const tile of this.tiles.values()) {
      if (tile.dataset.kind !== "camera" || tile.classList.contains("local")) continue;
      let layer;
      if (tile.hidden) layer = "off";
      else if (tile.classList.contains("featured")) layer = "h";
      else if (tile.parentNode === this.strip) layer = "l";
      else {
        const pixels = (tile.clientWidth || 0) * ratio;
        layer = pixels > 560 ? "h" : pixels > 280 ? "m" : "l";
      }
      wanted[tile.dataset.pid] = layer;
    }
    return wanted;
  }

  announceLayers() {
    this.dispatchEvent(new CustomEvent("layers", { detail: this.wantedLayers() }));
  }
}
