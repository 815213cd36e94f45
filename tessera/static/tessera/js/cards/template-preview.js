// Live preview of a card template: colours through CSS custom properties (CSSOM, allowed by the CSP).
const form = document.getElementById("template-form");
const preview = document.getElementById("template-preview");
if (form && preview) {
  const colours = { primary_colour: "--card-primary", background_colour: "--card-bg", text_colour: "--card-text" };
  const update = () => {
    for (const [name, property] of Object.entries(colours)) {
      preview.style.setProperty(property, form.elements[name].value);
    }
    preview.classList.forEach((c) => {
      if (c.startsWith("layout-") || c.startsWith("font-")) preview.classList.remove(c);
    });
    preview.classList.add(`layout-${form.elements.layout.value}`, `font-${form.elements.font.value}`);
    for (const node of preview.querySelectorAll("[data-preview]")) {
      const value = form.elements[node.dataset.preview].value;
      if (value) node.textContent = value;
    }
  };
  form.addEventListener("input", update);
  update();
}
