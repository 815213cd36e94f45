// Creation form: preselect the browser's time zone and forbid past dates in the date picker.
const form = document.querySelector("form.meeting-form");
if (form) {
  const zone = form.elements.time_zone;
  const browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (zone && !form.querySelector(".errorlist") && [...zone.options].some((o) => o.value === browserZone)) {
    zone.value = browserZone;
  }
  const date = form.elements.date;
  if (date) {
    const today = new Date();
    const pad = (n) => String(n).padStart(2, "0");
    date.min = `${today.getFullYear()}-${pad(today.getMonth() + 1)}-${pad(today.getDate())}`;
  }
}
