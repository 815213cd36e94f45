// Public card page: Share (Web Share API, else copy the link) and the exchange form's proof of work.
const share = document.getElementById("share");
const shareStatus = document.getElementById("share-status");
if (share) {
  share.classList.remove("hidden");
  share.addEventListener("click", async () => {
    const url = share.dataset.url;
    if (navigator.share) {
      try { await navigator.share({ title: share.dataset.title, url }); } catch { /* dismissed */ }
      return;
    }
    try {
      await navigator.clipboard.writeText(url);
      shareStatus.textContent = share.dataset.copied;
    } catch {
      shareStatus.textContent = url;
    }
  });
}

const form = document.getElementById("exchange-form");
if (form) {
  const status = document.getElementById("exchange-status");
  const button = form.querySelector("button[type=submit]");
  // The page is the same for every visitor; this visitor's token and challenge are fetched when the form
  // is opened. A page re-rendered after a refused attempt already carries fresh ones.
  const STALE_MS = 30 * 60 * 1000;
  let prepared = form.elements.challenge.value ? { at: Date.now(), done: Promise.resolve() } : null;
  const prepare = () => {
    if (prepared && Date.now() - prepared.at < STALE_MS) return prepared.done;
    const attempt = {
      at: Date.now(),
      done: fetch(form.dataset.challengeUrl, {
        credentials: "omit",
        cache: "no-store",
        headers: { Accept: "application/json" },
      }).then(async (response) => {
        if (!response.ok) throw new Error(String(response.status));
        const data = await response.json();
        form.elements.csrfmiddlewaretoken.value = data.token;
        form.elements.challenge.value = data.challenge;
        form.dataset.bits = String(data.bits);
      }),
    };
    attempt.done.catch(() => { if (prepared === attempt) prepared = null; });
    prepared = attempt;
    return attempt.done;
  };
  const prepareQuietly = () => { prepare().catch(() => { /* retried on submit */ }); };
  form.addEventListener("focusin", prepareQuietly);
  for (const link of document.querySelectorAll('a[href="#exchange"]')) {
    link.addEventListener("click", prepareQuietly);
  }
  if (window.location.hash === "#exchange") prepareQuietly();

  let solved = false;
  form.addEventListener("submit", async (event) => {
    if (solved) return;
    event.preventDefault();
    button.disabled = true;
    status.textContent = form.dataset.working;
    try {
      await prepare();
    } catch {
      status.textContent = form.dataset.failed;
      button.disabled = false;
      return;
    }
    const worker = new Worker(new URL("../pow/pow-worker.js", import.meta.url), { type: "module" });
    worker.onmessage = ({ data }) => {
      worker.terminate();
      form.elements.nonce.value = data.nonce;
      solved = true;
      form.submit();
    };
    worker.postMessage({ challenge: form.elements.challenge.value, bits: Number(form.dataset.bits) });
  });
}
