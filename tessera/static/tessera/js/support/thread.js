// Follow-up link: `/contact/t/<public-id>#<token>`. The token stays out of addresses sent to the server and
// of its logs: the page posts it in a form body, and puts it back in the address bar once the thread shows.
const TOKEN = /^[A-Za-z0-9_-]{43}$/;

const opener = document.querySelector("form[data-auto-submit]");
if (opener) {
  const token = window.location.hash.slice(1);
  if (TOKEN.test(token)) {
    opener.elements.key.value = token;
    opener.submit();
  } else {
    opener.querySelector("[data-missing-key]").hidden = false;
  }
}

const thread = document.getElementById("thread");
if (thread && TOKEN.test(thread.dataset.key) && window.location.hash.slice(1) !== thread.dataset.key) {
  // Reloading or bookmarking the page then reopens the thread.
  window.history.replaceState(null, "", `${window.location.pathname}#${thread.dataset.key}`);
}
