// Registers the service worker that caches static assets, so that the room installs as an app.
const app = document.getElementById("room-app");
if ("serviceWorker" in navigator && app && app.dataset.sw) {
  navigator.serviceWorker.register(app.dataset.sw).catch(() => {});
}
