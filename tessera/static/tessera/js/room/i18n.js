// Strings come from a JSON catalog the server renders into the page (translated with gettext).
let catalog = {};

export function loadCatalog(id = "room-strings") {
  const node = document.getElementById(id);
  catalog = node ? JSON.parse(node.textContent) : {};
}

export function t(key, values = {}) {
  const text = catalog[key] ?? key;
  return text.replace(/%\((\w+)\)s/g, (_, name) => String(values[name] ?? ""));
}
