// The room's configuration form: deck, question card, target field and the room's rules.

import { h, sentence } from "./ui.js";

export const DECKS = [
  { name: "fibonacci", title: "Fibonacci", cards: "0 1 2 3 5 8 13 21 34 55 89" },
  { name: "modified-fibonacci", title: "Modified Fibonacci", cards: "0 ½ 1 2 3 5 8 13 20 40 100" },
  { name: "powers-of-two", title: "Powers of two", cards: "0 1 2 4 8 16 32 64" },
  { name: "t-shirt", title: "T-shirt sizes", cards: "XS S M L XL XXL" },
  { name: "linear", title: "Linear 1–10", cards: "1 2 3 4 5 6 7 8 9 10" },
];
const STANDARD = new Set(DECKS.map((d) => d.name));
const SPECIALS = new Set(["?", "☕", "∞", "Pass"]);
const SHIRT_POINTS = { XS: 1, S: 2, M: 3, L: 5, XL: 8, XXL: 13 };
const MAX_CARDS = 40;

/** A configuration (a view's, or a saved default) as the body a new room or session takes. */
export function settingsOf(config) {
  const values = formValues(config);
  const settings = {
    questionCard: values.questionCard,
    offlineVoting: values.offlineVoting,
    autoReveal: values.autoReveal,
    revealOnTimer: values.revealOnTimer,
    commentOnEstimate: values.commentOnEstimate,
    allowTakeControl: values.allowTakeControl,
    persistent: values.persistent,
    suggestion: values.suggestion,
    valueMap: values.valueMap,
    deck: values.deck === "custom" ? { name: "custom", cards: parseCustomCards(values.customCards).cards } : values.deck,
  };
  if (values.fieldId) settings.fieldId = values.fieldId;
  return settings;
}

/** The built-in settings of a new room (as the server's defaults). */
export const NEW_ROOM = {
  deck: "fibonacci",
  customCards: "",
  fieldId: null,
  questionCard: true,
  offlineVoting: true,
  autoReveal: false,
  allowTakeControl: true,
  persistent: false,
  valueMap: {},
  suggestion: "auto",
  revealOnTimer: false,
  commentOnEstimate: false,
};

/** How a revealed round's suggested estimate is picked (the room's rule). */
export const SUGGESTION_RULES = [
  { value: "auto", title: "Most common card when it has a majority, else the median card" },
  { value: "most-common", title: "Most common card" },
  { value: "median", title: "Median card" },
  { value: "mean", title: "Card nearest the mean (numeric decks)" },
];

/** Form values from a saved configuration or a room view (`deck` is `{name, cards}`). */
export function formValues(config) {
  if (!config) return { ...NEW_ROOM };
  const deck = config.deck || {};
  const cards = (deck.cards || []).filter((c) => !(config.questionCard && c.label === "?"));
  const standard = STANDARD.has(deck.name);
  return {
    deck: standard ? deck.name : "custom",
    customCards: standard ? "" : cards.map((c) => c.label).join(", "),
    fieldId: config.fieldId || null,
    questionCard: config.questionCard !== false,
    offlineVoting: config.offlineVoting !== false,
    autoReveal: Boolean(config.autoReveal),
    allowTakeControl: config.allowTakeControl !== false,
    persistent: Boolean(config.persistent),
    valueMap: { ...(config.valueMap || {}) },
    suggestion: SUGGESTION_RULES.some((r) => r.value === config.suggestion) ? config.suggestion : "auto",
    revealOnTimer: Boolean(config.revealOnTimer),
    commentOnEstimate: Boolean(config.commentOnEstimate),
  };
}

/** The cards of a custom deck typed as `1, 2, 3, 5`: `{cards, error}`. */
export function parseCustomCards(text) {
  const tokens = text.split(/[\s,;]+/).filter(Boolean);
  const numbers = new Set();
  const specials = [];
  for (const token of tokens) {
    if (SPECIALS.has(token)) {
      if (!specials.includes(token)) specials.push(token);
      continue;
    }
    const value = Number(token === "½" ? "0.5" : token);
    if (!/^(½|\d+(\.\d+)?)$/.test(token) || !Number.isFinite(value) || value > 1000000) {
      return { cards: [], error: `“${token}” is not a number from 0 to 1,000,000.` };
    }
    numbers.add(value);
  }
  if (numbers.size < 2) return { cards: [], error: "A custom deck needs at least two numbers." };
  const cards = [...numbers]
    .sort((a, b) => a - b)
    .map((value) => ({ label: value === 0.5 ? "½" : String(value), value }))
    .concat(specials.map((label) => ({ label, value: null })));
  if (cards.length > MAX_CARDS) return { cards: [], error: `A deck has at most ${MAX_CARDS} cards.` };
  return { cards, error: "" };
}

function field(id, label, control, hint) {
  return h(
    "div",
    { class: "field" },
    h("label", { for: id }, label),
    control,
    hint ? h("p", { class: "hint", id: `${id}-hint` }, hint) : null,
  );
}

function toggle(id, label, checked, hint) {
  return h(
    "div",
    { class: "toggle" },
    h("input", { type: "checkbox", id, name: id, checked, "aria-describedby": hint ? `${id}-hint` : null }),
    h("label", { for: id }, label),
    hint ? h("p", { class: "hint", id: `${id}-hint` }, hint) : null,
  );
}

/**
 * The form. `mode` is `create` or `edit`; `fields` the result of `estimateFields`;
 * `onSubmit(body)` returns a promise (its rejection is shown in the form).
 */
export function configForm({ mode, issueKey, values, fields, defaultsLoaded, onSubmit, onCancel }) {
  const form = h("form", { class: "config", novalidate: true, "aria-labelledby": "config-title" });
  const errorBox = h("div", { id: "config-error", class: "message error", role: "alert", hidden: true });

  const deckOptions = [...DECKS, { name: "custom", title: "Custom numbers", cards: "" }].map((deck) =>
    h(
      "label",
      { class: "deck-choice" },
      h("input", {
        type: "radio",
        name: "deck",
        value: deck.name,
        checked: values.deck === deck.name,
        "aria-label": deck.title,
        "aria-describedby": deck.cards ? `deck-${deck.name}-cards` : null,
      }),
      h("span", { class: "deck-title", "aria-hidden": "true" }, deck.title),
      deck.cards ? h("span", { class: "deck-cards", id: `deck-${deck.name}-cards` }, deck.cards) : null,
    ),
  );
  const custom = h("input", {
    id: "custom-cards",
    name: "customCards",
    type: "text",
    inputmode: "decimal",
    autocomplete: "off",
    placeholder: "1, 2, 3, 5, 8, 13",
    value: values.customCards,
    "aria-describedby": "custom-cards-hint",
  });
  const customField = field("custom-cards", "Your cards", custom, "Numbers separated by commas; they are sorted for you. ☕ and ∞ may be added too.");

  const fieldSelect = h(
    "select",
    { id: "target-field", name: "fieldId", "aria-describedby": "target-field-hint" },
    h("option", { value: "" }, "Don't write the estimate to Jira"),
    fields.fields.map((f) =>
      h("option", { value: f.id, selected: f.id === values.fieldId }, `${f.name} · ${f.kindLabel}`),
    ),
  );
  if (!values.fieldId && mode === "create" && fields.fields.length && fields.fields[0].kind === "number") {
    fieldSelect.value = fields.fields[0].id;
  }
  if (values.fieldId && !fields.fields.some((f) => f.id === values.fieldId)) {
    fieldSelect.append(h("option", { value: values.fieldId, selected: true }, `${values.fieldId} · not on the edit screen`));
  }
  const fieldHint = fields.ok
    ? `Fields on the edit screen of ${issueKey} that can hold an estimate.`
    : `${fields.message} You can still open the room and choose a field later.`;

  const mapBox = h("fieldset", { class: "value-map" });
  const suggestionSelect = h(
    "select",
    { id: "suggestion", name: "suggestion", "aria-describedby": "suggestion-hint" },
    SUGGESTION_RULES.map((rule) => h("option", { value: rule.value, selected: rule.value === values.suggestion }, rule.title)),
  );

  const form_ = {
    deck: () => form.elements.deck.value,
    field: () => fields.fields.find((f) => f.id === fieldSelect.value) || null,
  };

  function renderMap() {
    const chosen = form_.field();
    const shirts = form_.deck() === "t-shirt";
    mapBox.replaceChildren();
    mapBox.hidden = !(shirts && chosen && chosen.kind === "number");
    if (mapBox.hidden) return;
    mapBox.append(
      h("legend", {}, `Numbers written to ${chosen.name}`),
      h("p", { class: "hint" }, "A number field takes numbers only, so each size stands for one."),
      h(
        "div",
        { class: "map-grid" },
        Object.keys(SHIRT_POINTS).map((label) => {
          const id = `map-${label}`;
          const value = values.valueMap[label] ?? SHIRT_POINTS[label];
          return h(
            "div",
            { class: "map-item" },
            h("label", { for: id }, label),
            h("input", { id, name: id, type: "number", min: "0", step: "any", value: String(value), dataset: { label } }),
          );
        }),
      ),
    );
  }

  function sync() {
    customField.hidden = form_.deck() !== "custom";
    renderMap();
  }

  const submitText = { create: "Open the room", session: "Start the session" }[mode] || "Save settings";
  const submit = h("button", { type: "submit", class: "button primary", dataset: { key: "config-submit" } }, submitText);
  const persistent = h(
    "fieldset",
    { class: "choices" },
    h("legend", {}, "Room lifetime"),
    h("label", {}, h("input", { type: "radio", name: "persistent", value: "no", checked: !values.persistent }), " Expire when idle (removed after a period without activity)"),
    h("label", {}, h("input", { type: "radio", name: "persistent", value: "yes", checked: values.persistent }), " Keep until removed"),
  );

  form.append(
    ...[
    h("h2", { id: "config-title", class: "form-title" }, { create: `Set up planning poker for ${issueKey}`, session: "How every issue is estimated" }[mode] || "Room settings"),
    mode === "create"
      ? h("p", { class: "lead" }, "You are the first here, so you set the room up and run it as its owner. Teammates join from this issue.")
      : null,
    mode === "session"
      ? h("p", { class: "lead" }, "Each issue of the session gets a room with these settings; you run the session and its rooms.")
      : null,
    defaultsLoaded ? h("p", { class: "message info" }, "Filled in from your saved default for this project and issue type.") : null,
    errorBox,
    h("fieldset", { class: "decks" }, h("legend", {}, "Deck"), h("div", { class: "deck-grid" }, deckOptions)),
    customField,
    toggle("questionCard", "Add a “?” card", values.questionCard, "For “I can't estimate this yet”. It never counts in the results."),
    field("target-field", "Write the agreed estimate to", fieldSelect, fieldHint),
    mapBox,
    h(
      "fieldset",
      { class: "choices" },
      h("legend", {}, "Rules"),
      toggle("offlineVoting", "Offline voting", values.offlineVoting, "A vote stays when its voter leaves the page, so teammates in other time zones can vote in their own time."),
      toggle("autoReveal", "Reveal automatically", values.autoReveal, "Cards turn over as soon as everyone online has voted."),
      toggle("revealOnTimer", "Reveal when the timer ends", values.revealOnTimer, "When the owner's countdown runs out, the cards turn over (if anyone voted)."),
      toggle("allowTakeControl", "Allow taking control", values.allowTakeControl, "When the owner is away, a participant can take over the room."),
      toggle("commentOnEstimate", "Comment on each estimated issue", values.commentOnEstimate, "When the estimate is written, the app adds a comment to the issue: the estimate, how many voted, their agreement and the rounds. No names."),
      field("suggestion", "Suggested estimate", suggestionSelect, "What the estimate field is filled with after the reveal; you can always type another."),
    ),
    persistent,
    mode === "create" || mode === "session"
      ? toggle("saveAsDefault", "Save as my default for this project and issue type", false, mode === "create" ? "Your next room in this project starts with these settings." : `Your next session and your next room in this project start with these settings (for issues of the type of ${issueKey}).`)
      : null,
    h(
      "div",
      { class: "form-actions" },
      submit,
      onCancel ? h("button", { type: "button", class: "button subtle", onclick: onCancel }, "Cancel") : null,
    ),
    ].filter(Boolean),
  );

  form.addEventListener("input", (event) => {
    // The person is fixing it: the mark goes (the message stays until the next submit).
    event.target.removeAttribute("aria-invalid");
  });
  form.addEventListener("change", (event) => {
    if (event.target.name === "deck" || event.target === fieldSelect) sync();
  });

  function body() {
    const elements = form.elements;
    const settings = {
      questionCard: elements.questionCard.checked,
      offlineVoting: elements.offlineVoting.checked,
      autoReveal: elements.autoReveal.checked,
      revealOnTimer: elements.revealOnTimer.checked,
      commentOnEstimate: elements.commentOnEstimate.checked,
      allowTakeControl: elements.allowTakeControl.checked,
      persistent: elements.persistent.value === "yes",
      suggestion: suggestionSelect.value,
    };
    const deck = form_.deck();
    if (deck === "custom") {
      const parsed = parseCustomCards(custom.value);
      if (parsed.error) return { error: parsed.error, focus: custom };
      settings.deck = { name: "custom", cards: parsed.cards };
    } else {
      settings.deck = deck;
    }
    if (fieldSelect.value) settings.fieldId = fieldSelect.value;
    const valueMap = {};
    if (!mapBox.hidden) {
      for (const input of mapBox.querySelectorAll("input")) {
        const value = Number(input.value);
        if (input.value === "" || !Number.isFinite(value) || value < 0) {
          return { error: `Give ${input.dataset.label} a number of 0 or more.`, focus: input };
        }
        valueMap[input.dataset.label] = value;
      }
    }
    settings.valueMap = valueMap;
    if ((mode === "create" || mode === "session") && elements.saveAsDefault.checked) settings.saveAsDefault = true;
    return { settings };
  }

  function showError(message, details = [], field = null) {
    // Only words reach the person: no "null", no empty bullet.
    const lines = details.filter((d) => typeof d === "string" && d.trim());
    // replaceChildren writes a null as the text "null": leave the list out instead.
    const parts = [h("p", {}, sentence(message) || "The settings could not be saved.")];
    if (lines.length) parts.push(h("ul", {}, lines.map((d) => h("li", {}, sentence(d)))));
    errorBox.replaceChildren(...parts);
    errorBox.hidden = false;
    for (const marked of form.querySelectorAll("[aria-invalid=true]")) marked.removeAttribute("aria-invalid");
    if (field) {
      field.setAttribute("aria-invalid", "true");
      field.setAttribute("aria-errormessage", "config-error");
    }
  }

  /** The control a server's refusal is about ("... @ body.deck.cards[2].value"), if any. */
  function fieldOf(failure) {
    const text = [failure.message, ...(failure.details || [])].join(" ");
    if (/body\.deck|card|deck/i.test(text) && form_.deck() === "custom") return custom;
    if (/fieldId|field/i.test(text)) return fieldSelect;
    return null;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const { settings, error, focus } = body();
    if (error) {
      showError(error, [], focus);
      focus.focus();
      return;
    }
    errorBox.hidden = true;
    submit.disabled = true;
    submit.setAttribute("aria-busy", "true");
    try {
      await onSubmit(settings);
    } catch (failure) {
      const about = fieldOf(failure);
      showError(failure.message || "The settings could not be saved.", failure.details || [], about);
      (about || errorBox).focus();
    } finally {
      submit.disabled = false;
      submit.removeAttribute("aria-busy");
    }
  });
  errorBox.tabIndex = -1;
  sync();
  return form;
}
