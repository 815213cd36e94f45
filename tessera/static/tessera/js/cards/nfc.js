// Write the card's NDEF URI record to a tag with Web NFC (Chrome on Android); say so clearly elsewhere.
const button = document.getElementById("nfc-write");
const status = document.getElementById("nfc-status");
if (button) {
  button.addEventListener("click", async () => {
    if (!("NDEFReader" in window)) {
      status.textContent = button.dataset.unsupported;
      return;
    }
    try {
      status.textContent = button.dataset.ready;
      await new window.NDEFReader().write({ records: [{ recordType: "url", data: button.dataset.url }] });
      status.textContent = button.dataset.done;
    } catch (error) {
      status.textContent = `${button.dataset.failed} ${error.message}`;
    }
  });
}
