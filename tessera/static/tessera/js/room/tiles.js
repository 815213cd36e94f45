// Video tiles: one per participant's camera, one per shared screen; grid, speaker and presenter views.

export class Stage {
  constructor(root, template) {
    this.root = root;
    this.template = template;
    this.tiles = new Map(); // key "pid:kind" -> element
    this.view = "grid";
    this.sinkId = null; // the chosen speaker, for every voice of the call
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
      if (local) {
        tile.classList.add("local");
        tile.querySelector("video").muted = true;
      }
      this.tiles.set(key, tile);
      this.applySink(tile);
      this.root.append(tile);
      this.layout();
    }
    return tile;
  }

  attach(pid, kind, stream, options) {
    const tile = this.tile(pid, kind, options);
    const video = tile.querySelector("video");
    if (video.srcObject !== stream) {
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
    this.layout();
  }

  speaking(pid) {
    for (const tile of this.tiles.values()) {
      const on = tile.dataset.pid === pid && tile.dataset.kind === "camera";
      tile.classList.toggle("speaking", on);
      if (on && this.view === "speaker") tile.classList.add("featured");
    }
    if (this.view === "speaker") this.layout(pid);
  }

  layout(speaker = null) {
    const screens = [...this.tiles.values()].filter((t) => t.dataset.kind === "screen");
    const presenter = screens.length > 0;
    this.root.classList.toggle("presenter", presenter);
    this.root.classList.toggle("speaker-view", !presenter && this.view === "speaker");
    this.root.classList.toggle("grid-view", !presenter && this.view === "grid");
    const count = this.tiles.size;
    this.root.dataset.count = String(Math.min(count, 9));
    for (const tile of this.tiles.values()) {
      let featured = false;
      if (presenter) featured = tile === screens[0];
      else if (this.view === "speaker") {
        featured = speaker ? tile.dataset.pid === speaker && tile.dataset.kind === "camera" : tile.classList.contains("featured");
      }
      tile.classList.toggle("featured", featured);
    }
    if (this.view === "speaker" && !presenter && ![...this.tiles.values()].some((t) => t.classList.contains("featured"))) {
      const first = [...this.tiles.values()].find((t) => !t.classList.contains("local")) || [...this.tiles.values()][0];
      if (first) first.classList.add("featured");
    }
  }
}
