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
  let solved = false;
  form.addEventListener("submit", (event) => {
    if (solved) return;
    event.preventDefault();
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    status.textContent = form.dataset.working;
    const worker = new Worker(new URL("./pow-worker.js", import.meta.url), { type: "module" });
    worker.onmessage = ({ data }) => {
      worker.terminate();
      form.elements.nonce.value = data.nonce;
      solved = true;
      form.submit();
    };
    worker.postMessage({ challenge: form.elements.challenge.value, bits: Number(form.dataset.bits) });
  });
}
