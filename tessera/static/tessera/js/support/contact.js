// Contact form: the browser solves the page's proof of work (static/tessera/js/pow/) before the form leaves,
// so no cookie is needed to keep robots out. The challenge came with the page; one post spends it.
const form = document.getElementById("contact-form");
if (form) {
  const status = document.getElementById("contact-status");
  const button = form.querySelector("button[type=submit]");
  let solved = false;
  form.addEventListener("submit", (event) => {
    if (solved) return;
    event.preventDefault();
    button.disabled = true;
    status.textContent = status.dataset.working;
    const worker = new Worker(new URL("../pow/pow-worker.js", import.meta.url), { type: "module" });
    worker.onerror = () => {
      worker.terminate();
      status.textContent = status.dataset.failed;
      button.disabled = false;
    };
    worker.onmessage = ({ data }) => {
      worker.terminate();
      form.elements.nonce.value = data.nonce;
      solved = true;
      form.submit();
    };
    worker.postMessage({ challenge: form.elements.challenge.value, bits: Number(form.dataset.bits) });
  });
}
