// Management link: `/m/manage/<id>#<manage-token>.<room-secret>`. The key is posted in a form body, and
// once the page is shown it is put back in the address bar so that the page can be bookmarked.
import { parseKey } from "./fragment.js";

const opener = document.querySelector("form[data-auto-submit]");
if (opener) {
  const parsed = parseKey(window.location.hash);
  if (parsed) {
    opener.elements.key.value = parsed.key;
    opener.submit();
  } else {
    opener.querySelector("[data-missing-key]").hidden = false;
  }
}

const manage = document.getElementById("manage");
if (manage && manage.dataset.key && window.location.hash.slice(1) !== manage.dataset.key) {
  window.history.replaceState(null, "", `${window.location.pathname}#${manage.dataset.key}`);
}
