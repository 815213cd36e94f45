// The site assistant's panel: asks POST /api/v1/assistant/ask and shows the quoted passage with its source.
const root = document.getElementById("assistant");

if (root) {
  const toggle = root.querySelector(".assistant-toggle");
  const panel = root.querySelector(".assistant-panel");
  const form = root.querySelector(".assistant-form");
  const input = root.querySelector("#assistant-question");
  const output = root.querySelector(".assistant-answer");
  const contact = root.querySelector(".assistant-contact");
  const t = root.dataset;

  const open = (show) => {
    panel.hidden = !show;
    toggle.setAttribute("aria-expanded", String(show));
    (show ? input : toggle).focus();
  };

  toggle.addEventListener("click", () => open(panel.hidden));
  root.querySelector(".assistant-close").addEventListener("click", () => open(false));
  root.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !panel.hidden) {
      event.preventDefault();
      open(false);
    }
  });

  const show = (body, question) => {
    output.replaceChildren();
    const quote = document.createElement("blockquote");
    quote.textContent = body.answer;
    output.append(quote);
    for (const source of body.sources || []) {
      const line = document.createElement("p");
      const link = document.createElement("a");
      link.href = source.url;
      link.textContent = source.title;
      line.append(`${t.source} `, link);
      output.append(line);
    }
    contact.hidden = body.confident;
    if (!body.confident) {
      contact.elements.subject.value = t.subject;
      contact.elements.q.value = question;
    }
  };

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const question = input.value.trim();
    if (!question) return;
    output.textContent = t.thinking;
    contact.hidden = true;
    try {
      const response = await fetch(t.api, {
        method: "POST",
        headers: { "Content-Type": "application/json", "Accept-Language": t.lang },
        body: JSON.stringify({ question, lang: t.lang }),
        credentials: "omit",
      });
      const body = await response.json();
      if (!response.ok) {
        output.textContent = body.detail || t.error;
        return;
      }
      show(body, question);
    } catch {
      output.textContent = t.error;
    }
  });
}
