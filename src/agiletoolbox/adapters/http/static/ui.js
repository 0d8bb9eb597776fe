// Small DOM helpers: elements, announcements for screen readers, a confirmation dialog.

/** `h("button", {class: "x", onclick}, "text", child)`: an element; null children are skipped. */
export function h(tag, props, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) element.addEventListener(key.slice(2), value);
    else if (key === "class") element.className = value;
    else if (key === "dataset") Object.assign(element.dataset, value);
    else if (key === "value") element.value = value;
    else if (key === "checked" || key === "disabled" || key === "selected") element[key] = Boolean(value);
    else element.setAttribute(key, value === true ? "" : String(value));
  }
  append(element, children);
  return element;
}

function append(parent, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(parent, child);
    else parent.append(child instanceof Node ? child : String(child));
  }
}

const ANNOUNCEMENTS_KEPT = 3;

/** Say `text` to screen-reader users (once). Each message is a line of its own in the live
 * region, so one said right after another does not cut it off. */
export function announce(text) {
  const region = document.getElementById("announcer");
  if (!region) return;
  setTimeout(() => {
    const line = document.createElement("p");
    line.textContent = text;
    region.append(line);
    while (region.childElementCount > ANNOUNCEMENTS_KEPT) region.firstElementChild.remove();
  }, 30);
}

/** A message as a sentence: capital first letter, closing full stop. */
export function sentence(text) {
  const trimmed = String(text || "").trim();
  if (!trimmed) return "";
  const capital = trimmed[0].toUpperCase() + trimmed.slice(1);
  return /[.!?…]$/.test(capital) ? capital : `${capital}.`;
}

/** What went wrong, as a sentence (an error's message, or a plain fallback). */
export function failureText(error) {
  return sentence((error && error.message) || "Something went wrong.");
}

/** A number as people write it: `3`, `2.5`, `0.33`. */
export function number(value) {
  if (value === null || value === undefined) return "–";
  return Number.isInteger(value) ? String(value) : String(Math.round(value * 100) / 100);
}

/** A modal confirmation inside the page; resolves true when confirmed. */
export function confirmDialog({ title, body, confirm, danger = false }) {
  return new Promise((resolve) => {
    const previous = document.activeElement;
    const close = (answer) => {
      overlay.remove();
      document.removeEventListener("keydown", onKey, true);
      if (previous && previous.focus) previous.focus();
      resolve(answer);
    };
    const cancelButton = h("button", { type: "button", class: "button subtle", onclick: () => close(false) }, "Cancel");
    const confirmButton = h(
      "button",
      { type: "button", class: danger ? "button danger" : "button primary", onclick: () => close(true) },
      confirm,
    );
    const dialog = h(
      "div",
      { class: "modal", role: "alertdialog", "aria-modal": "true", "aria-labelledby": "modal-title", "aria-describedby": "modal-body" },
      h("h2", { id: "modal-title", class: "modal-title" }, danger ? h("span", { class: "icon-warning", "aria-hidden": "true" }, "!") : null, title),
      h("div", { id: "modal-body", class: "modal-body" }, body),
      h("div", { class: "modal-actions" }, cancelButton, confirmButton),
    );
    const overlay = h("div", { class: "overlay" }, dialog);
    const onKey = (event) => {
      if (event.key === "Escape") {
        event.preventDefault();
        close(false);
      } else if (event.key === "Tab") {
        // Keep the focus inside the dialog.
        const items = [cancelButton, confirmButton];
        const at = items.indexOf(document.activeElement);
        event.preventDefault();
        items[(at + (event.shiftKey ? items.length - 1 : 1)) % items.length].focus();
      }
    };
    document.addEventListener("keydown", onKey, true);
    document.body.append(overlay);
    cancelButton.focus();
  });
}
