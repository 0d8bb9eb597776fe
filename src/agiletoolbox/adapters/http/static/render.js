// The room as the person sees it, built from the room view and the page's own state.
// Pure: `roomContent(model, actions)` returns elements; the controller wires `actions`.

import { h, number } from "./ui.js";

const DECK_TITLES = {
  fibonacci: "Fibonacci",
  "modified-fibonacci": "Modified Fibonacci",
  "powers-of-two": "Powers of two",
  "t-shirt": "T-shirt sizes",
  linear: "Linear 1–10",
};

/** The longest estimate (Jira's limit for a single-line text field). */
export const MAX_ESTIMATE = 255;

const SUGGESTED_BY = { "most-common": "most common", median: "median card", mean: "nearest the mean" };

const STATUS_TEXT = {
  connecting: "Connecting…",
  live: "Live",
  reconnecting: "Reconnecting…",
  closed: "Disconnected",
};

function participant(view, accountId) {
  return view.participants.find((p) => p.accountId === accountId) || null;
}

function avatar(people, accountId, size = "") {
  const url = people.avatar(accountId);
  const name = people.loading(accountId) ? "" : people.name(accountId);
  const initials = name
    .split(/\s+/)
    .slice(0, 2)
    .map((part) => part[0] || "")
    .join("")
    .toUpperCase();
  return url
    ? h("img", { class: `avatar ${size}`, src: url, alt: "", width: 32, height: 32, loading: "lazy", referrerpolicy: "no-referrer" })
    : h("span", { class: `avatar placeholder ${size}`, "aria-hidden": "true" }, initials || "·");
}

/** A person's name, or a placeholder bar while Jira has not answered yet. */
function nameOf(people, accountId) {
  if (people.loading(accountId)) {
    return h("span", { class: "name skeleton", "aria-busy": "true" }, h("span", { class: "visually-hidden" }, "Loading name"));
  }
  return h("span", { class: "name" }, people.name(accountId));
}

function lozenge(text, kind = "default") {
  return h("span", { class: `lozenge ${kind}` }, text);
}

/** The field's name as Jira calls it, else its id. */
export function fieldName(model, fieldId) {
  const known = model.fieldsById.get(fieldId);
  return known ? known.name : fieldId;
}

function header(model, actions) {
  const { view } = model;
  const stateText = view.state === "voting" ? "Voting" : view.state === "revealed" ? "Revealed" : "Estimated";
  const stateKind = view.state === "voting" ? "inprogress" : view.state === "revealed" ? "new" : "success";
  const status = model.status;
  const statusLabel =
    status === "reconnecting" && model.retryIn > 0 ? `Reconnecting in ${model.retryIn} s…` : STATUS_TEXT[status] || status;
  const owner = view.owner === view.you;
  const menuItems = [
    owner ? h("button", { type: "button", role: "menuitem", class: "menu-item", dataset: { key: "menu-settings" }, onclick: actions.editSettings }, "Room settings") : null,
    model.canOpenDialog ? h("button", { type: "button", role: "menuitem", class: "menu-item", dataset: { key: "menu-dialog" }, onclick: actions.openDialog }, "Open in a larger view") : null,
    participant(view, view.you)
      ? h("button", { type: "button", role: "menuitem", class: "menu-item", dataset: { key: "menu-leave" }, onclick: actions.leave }, "Leave the room")
      : null,
    owner && !model.embedded ? h("button", { type: "button", role: "menuitem", class: "menu-item danger", dataset: { key: "menu-remove" }, onclick: actions.remove }, "Remove room…") : null,
  ].filter(Boolean);
  const deckName = DECK_TITLES[view.deck.name] || "Custom";
  return h(
    "header",
    { class: "room-header" },
    h(
      "div",
      { class: "title-row" },
      h("h1", { class: "room-title" }, `Round ${view.round}`),
      lozenge(stateText, stateKind),
      timerBadge(model),
      h(
        "span",
        { class: `connection ${status}`, role: "status", "aria-live": "polite", dataset: { testid: "connection" } },
        h("span", { class: "dot", "aria-hidden": "true" }),
        statusLabel,
      ),
      status === "reconnecting"
        ? h("button", { type: "button", class: "button link small", dataset: { key: "reconnect" }, onclick: actions.reconnect }, "Retry now")
        : null,
      h("span", { class: "spacer" }),
      h(
        "button",
        {
          type: "button",
          class: "button subtle icon-only",
          "aria-label": "Keyboard shortcuts",
          "aria-expanded": model.helpOpen ? "true" : "false",
          "aria-controls": "shortcuts",
          dataset: { key: "help" },
          onclick: actions.toggleHelp,
        },
        h("span", { "aria-hidden": "true" }, "?"),
      ),
      model.pageView === "dialog"
        ? h("button", { type: "button", class: "button subtle small", dataset: { key: "close-dialog" }, onclick: actions.closeDialog }, "Close")
        : null,
      menuItems.length
        ? h(
            "div",
            { class: "menu" },
            h(
              "button",
              {
                type: "button",
                class: "button subtle icon-only",
                "aria-haspopup": "menu",
                "aria-expanded": model.menuOpen ? "true" : "false",
                "aria-label": "More actions",
                dataset: { key: "menu" },
                onclick: actions.toggleMenu,
              },
              h("span", { "aria-hidden": "true" }, "•••"),
            ),
            model.menuOpen ? h("div", { class: "menu-list", role: "menu", "aria-label": "More actions" }, menuItems) : null,
          )
        : null,
    ),
    model.helpOpen ? shortcuts(owner) : null,
    h(
      "p",
      { class: "subtitle" },
      `${deckName} deck`,
      view.fieldId ? [" · estimates go to ", h("strong", {}, fieldName(model, view.fieldId))] : " · no Jira field chosen",
      view.autoReveal ? " · reveals automatically" : null,
    ),
  );
}

/** "1:05": what is left of a countdown, rounded up to the second. */
export function clock(ms) {
  const seconds = Math.max(0, Math.ceil(ms / 1000));
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;
}

/** The round's countdown (the server's deadline, on the server's clock), or "Time is up". */
function timerBadge(model) {
  const { view } = model;
  if (view.state !== "voting") return null;
  if (view.timer && view.timer.round === view.round) {
    const left = Date.parse(view.timer.endsAt) - model.serverNow();
    return h(
      "span",
      { class: `timer${left <= 10000 ? " ending" : ""}`, role: "timer", "aria-label": "Time left in this round", dataset: { testid: "timer" } },
      h("span", { class: "timer-left" }, left > 0 ? clock(left) : "0:00"),
      view.revealOnTimer ? h("span", { class: "visually-hidden" }, " (the cards turn over when it ends)") : null,
    );
  }
  return model.timeUpRound === view.round ? h("span", { class: "timer ended", role: "status", dataset: { testid: "timer" } }, "Time is up") : null;
}

const TIMER_CHOICES = [
  [30, "30 s"],
  [60, "1 min"],
  [120, "2 min"],
  [300, "5 min"],
];

function timerControls(model, actions) {
  const { view } = model;
  if (view.state !== "voting") return null;
  const running = view.timer && view.timer.round === view.round;
  const busy = model.pendingOps && [...model.pendingOps].some((op) => op.startsWith("timer-"));
  if (running) {
    return h(
      "div",
      { class: "timer-controls", role: "group", "aria-label": "Timer" },
      h("button", { type: "button", class: "button small", disabled: busy, dataset: { key: "timer-extend" }, onclick: () => actions.extendTimer(30) }, "+30 s"),
      h("button", { type: "button", class: "button small subtle", disabled: busy, dataset: { key: "timer-stop" }, onclick: actions.stopTimer }, "Stop timer"),
    );
  }
  return h(
    "div",
    { class: "timer-controls", role: "group", "aria-label": "Start a timer" },
    h("span", { class: "muted" }, "Timer:"),
    TIMER_CHOICES.map(([seconds, label]) =>
      h("button", { type: "button", class: "button small", disabled: busy, dataset: { key: `timer-${seconds}` }, onclick: () => actions.startTimer(seconds) }, label),
    ),
    h(
      "form",
      { class: "timer-custom", onsubmit: actions.startCustomTimer },
      h("label", { for: "timer-minutes", class: "visually-hidden" }, "Minutes"),
      h("input", { id: "timer-minutes", name: "minutes", type: "number", min: "0.2", max: "60", step: "0.1", placeholder: "min", inputmode: "decimal" }),
      h("button", { type: "submit", class: "button small", disabled: busy }, "Start"),
    ),
  );
}

function shortcuts(owner) {
  const row = (keys, what) => [h("dt", {}, keys.map((k) => h("kbd", {}, k))), h("dd", {}, what)];
  return h(
    "div",
    { id: "shortcuts", class: "shortcuts", role: "region", "aria-label": "Keyboard shortcuts", tabindex: "-1" },
    h("h2", { class: "section-title" }, "Keyboard shortcuts"),
    h(
      "dl",
      {},
      row(["0", "…", "9"], "Pick the card you type: 1 then 3 for 13; h for ½; ? for ?"),
      row(["Backspace"], "Take your card back"),
      row(["←", "→"], "Move between cards; Enter or Space picks"),
      owner ? row(["R"], "Reveal the cards") : null,
      owner ? row(["N"], "Start a new round after the reveal") : null,
      row(["Esc"], "Close this list, a menu or the larger view"),
    ),
  );
}

function memberStatus(model, member) {
  const { view, people } = model;
  const revealed = view.state !== "voting";
  if (member.role === "observer") return h("span", { class: "member-status muted" }, "Observing");
  if (revealed) {
    if (!member.card) return h("span", { class: "member-status muted" }, "No vote");
    const outlier = view.results && view.results.outliers.includes(member.accountId);
    return h(
      "span",
      { class: `mini-card face${outlier ? " outlier" : ""}`, title: outlier ? "Far from the rest: worth a word" : null },
      h("span", { class: "visually-hidden" }, `${people.name(member.accountId)} voted `),
      member.card,
      outlier ? h("span", { class: "visually-hidden" }, ", an outlier") : null,
    );
  }
  // The row shows what the server holds; a change not answered yet is marked as such.
  const own = member.accountId === view.you;
  const held = own ? member.card : null;
  const saving = own && model.voteSaving;
  const pendingNote = saving
    ? h("span", { class: "pending-note", dataset: { testid: "vote-pending" } }, model.myCard ? `${model.myCard} not saved yet` : "change not saved yet")
    : null;
  if (member.voted) {
    return h(
      "span",
      { class: "member-vote" },
      h(
        "span",
        { class: "mini-card back", title: held ? `Your card: ${held}` : "Voted" },
        held ? held : h("span", { "aria-hidden": "true" }, "✓"),
        h("span", { class: "visually-hidden" }, held ? "your vote" : "voted"),
      ),
      pendingNote,
    );
  }
  return h("span", { class: "member-vote" }, h("span", { class: "member-status muted" }, "Thinking…"), pendingNote);
}

function team(model) {
  const { view, people } = model;
  const voters = view.participants.filter((p) => p.role === "voter");
  const voted = voters.filter((p) => p.voted);
  const owner = view.owner && !participant(view, view.owner) ? [{ accountId: view.owner, role: "owner-away", online: false }] : [];
  const rows = [...view.participants, ...owner].map((member) =>
    h(
      "li",
      {
        class: `member${member.online ? "" : " offline"}${view.results && view.results.outliers.includes(member.accountId) ? " is-outlier" : ""}`,
        dataset: { account: member.accountId },
      },
      avatar(people, member.accountId),
      h(
        "span",
        { class: "member-name" },
        nameOf(people, member.accountId),
        member.accountId === view.you ? lozenge("You", "subtle") : null,
        member.accountId === view.owner ? lozenge("Owner", "moved") : null,
        member.role === "observer" ? lozenge("Observer") : null,
        member.online ? null : h("span", { class: "offline-note" }, member.role === "owner-away" ? "not in the room" : "offline"),
      ),
      member.role === "owner-away" ? null : memberStatus(model, member),
    ),
  );
  return h(
    "section",
    { class: "team", "aria-labelledby": "team-title" },
    h(
      "h2",
      { id: "team-title", class: "section-title" },
      "Team ",
      h("span", { class: "count" }, view.state === "voting" ? `${voted.length} of ${voters.length} voted` : `${view.participants.length}`),
    ),
    h("ul", { class: "members" }, rows),
  );
}

function deck(model, actions) {
  const { view } = model;
  const me = participant(view, view.you);
  if (!me) {
    return h(
      "section",
      { class: "join", "aria-labelledby": "join-title" },
      h("h2", { id: "join-title", class: "section-title" }, "Join the estimate"),
      h("p", {}, "Vote with the team, or watch without voting."),
      h(
        "div",
        { class: "actions" },
        h("button", { type: "button", class: "button primary", dataset: { key: "join-voter" }, onclick: () => actions.join("voter") }, "Join as voter"),
        h("button", { type: "button", class: "button", dataset: { key: "join-observer" }, onclick: () => actions.join("observer") }, "Join as observer"),
      ),
    );
  }
  const switchRole = h(
    "button",
    { type: "button", class: "button link small", dataset: { key: "switch-role" }, onclick: () => actions.join(me.role === "voter" ? "observer" : "voter") },
    me.role === "voter" ? "Watch without voting" : "Vote too",
  );
  if (me.role === "observer") {
    return h("section", { class: "deck-section" }, h("p", { class: "muted" }, "You are observing this estimate. ", switchRole));
  }
  const open = view.state === "voting";
  if (!open) {
    const note = view.owner === view.you ? "" : "The cards are turned over; the owner starts a new round to vote again. ";
    return h("section", { class: "deck-section" }, h("p", { class: "muted" }, note, switchRole));
  }
  const cards = view.deck.cards.map((card, index) =>
    h(
      "button",
      {
        type: "button",
        class: `card${card.special ? " special" : ""}`,
        "aria-pressed": model.myCard === card.label ? "true" : "false",
        dataset: { key: `card-${index}`, card: card.label },
        onclick: () => actions.pick(card.label),
        onkeydown: actions.deckKeys,
      },
      card.label,
      card.label === "?" ? h("span", { class: "visually-hidden" }, " (not sure)") : null,
    ),
  );
  let note = "Pick a card; pick it again to take it back.";
  if (model.voteSaving) note = model.status === "live" ? "Saving your vote…" : "Your vote is kept and goes out when the connection is back.";
  return h(
    "section",
    { class: "deck-section", "aria-labelledby": "deck-title" },
    h("h2", { id: "deck-title", class: "section-title" }, "Your card ", switchRole),
    h("div", { class: "deck", role: "group", "aria-labelledby": "deck-title" }, cards),
    h("p", { class: `hint${model.voteSaving ? " saving" : ""}`, role: "status" }, note),
  );
}

function controls(model, actions) {
  const { view, people } = model;
  const owner = view.owner === view.you;
  const me = participant(view, view.you);
  if (model.hiddenVotes && view.state === "voting") {
    // An async session's room: nobody reveals or restarts it before the review.
    return h("section", { class: "controls" }, h("p", { class: "muted", dataset: { testid: "hidden-votes" } }, owner ? "The cards stay hidden until you review the session." : "The cards stay hidden until the owner reviews the session."));
  }
  if (!owner) {
    const ownerName = view.owner ? people.name(view.owner, "the owner") : "nobody";
    const waiting =
      view.state === "voting"
        ? `Waiting for ${ownerName} to reveal the cards.`
        : view.state === "revealed"
          ? `Waiting for ${ownerName} to settle the estimate.`
          : null;
    const canTake = me && view.allowTakeControl && !view.ownerPresent;
    return h(
      "section",
      { class: "controls" },
      waiting ? h("p", { class: "muted" }, waiting) : null,
      canTake
        ? h(
            "div",
            { class: "message warning" },
            h("p", {}, `${ownerName} is not in the room. You can run the room instead.`),
            h("button", { type: "button", class: "button", dataset: { key: "take-control" }, onclick: actions.takeControl }, "Take control"),
          )
        : null,
    );
  }
  const votes = view.participants.filter((p) => p.voted).length;
  const pending = model.pendingOps || new Set();
  const busy = pending.has("reveal") || pending.has("reset");
  const reveal =
    view.state === "voting"
      ? h(
          "button",
          {
            type: "button",
            class: "button primary",
            disabled: votes === 0 || busy,
            "aria-busy": pending.has("reveal") ? "true" : null,
            "aria-describedby": votes === 0 ? "reveal-hint" : null,
            dataset: { key: "reveal" },
            onclick: actions.reveal,
          },
          "Reveal cards",
        )
      : null;
  return h(
    "section",
    { class: "controls owner", "aria-label": "Owner controls" },
    h(
      "div",
      { class: "actions" },
      reveal,
      h(
        "button",
        {
          type: "button",
          class: view.state === "voting" ? "button" : "button primary",
          disabled: busy,
          "aria-busy": pending.has("reset") ? "true" : null,
          dataset: { key: "reset" },
          onclick: actions.reset,
        },
        view.state === "voting" ? "Restart round…" : "New round",
      ),
    ),
    votes === 0 && view.state === "voting" ? h("p", { class: "hint", id: "reveal-hint" }, "Nobody has voted yet.") : null,
    timerControls(model, actions),
  );
}

function distribution(view) {
  const counts = new Map();
  for (const p of view.participants) if (p.card) counts.set(p.card, (counts.get(p.card) || 0) + 1);
  const max = Math.max(1, ...counts.values());
  const rows = view.deck.cards
    .filter((c) => counts.has(c.label))
    .map((c) =>
      h(
        "li",
        {},
        h("span", { class: "bar-label" }, c.label),
        h("span", { class: "bar", style: `--share:${(counts.get(c.label) / max).toFixed(3)}`, "aria-hidden": "true" }),
        h("span", { class: "bar-count" }, `${counts.get(c.label)}`, h("span", { class: "visually-hidden" }, counts.get(c.label) === 1 ? " vote" : " votes")),
      ),
    );
  return h("ul", { class: "distribution", "aria-label": "Votes per card" }, rows);
}

function stat(label, value, key) {
  return h("div", { class: "stat", dataset: { stat: key } }, h("dt", {}, label), h("dd", {}, value));
}

function results(model) {
  const { view, people } = model;
  const r = view.results;
  if (!r) return null;
  const specials = Object.entries(r.specials || {}).map(([label, n]) => `${label} × ${n}`);
  const outliers = r.outliers.map((id) => {
    const p = participant(view, id);
    return `${people.name(id)} (${p && p.card ? p.card : "?"})`;
  });
  return h(
    "section",
    { class: "results", "aria-labelledby": "results-title" },
    h(
      "h2",
      { id: "results-title", class: "section-title", tabindex: "-1" },
      "Results ",
      r.unanimous ? lozenge("Unanimous", "success") : null,
    ),
    r.count === 0
      ? h("p", { class: "muted" }, "No vote counts this round: every card was a special one.")
      : h(
          "dl",
          { class: "stats" },
          r.mean !== null ? stat("Mean", number(r.mean), "mean") : null,
          stat("Median", typeof r.median === "number" ? number(r.median) : r.median ?? "–", "median"),
          stat(r.modes.length > 1 ? "Modes" : "Mode", r.modes.join(", ") || "–", "mode"),
          stat("Agreement", `${Math.round(r.agreement * 100)}%`, "agreement"),
          r.spread ? stat("Spread", r.spread.min === r.spread.max ? r.spread.min : `${r.spread.min} – ${r.spread.max}`, "spread") : null,
          r.closestCard !== null ? stat("Closest card", r.closestCard, "closest") : null,
        ),
    distribution(view),
    outliers.length
      ? h("p", { class: "message warning outliers" }, h("strong", {}, "Worth a word: "), outliers.join(", "), " voted far from the rest.")
      : null,
    specials.length ? h("p", { class: "muted" }, `Also played: ${specials.join(", ")} (not counted).`) : null,
  );
}

function estimate(model, actions) {
  const { view } = model;
  if (view.state === "voting") return null;
  const owner = view.owner === view.you;
  const current = view.estimate && view.estimate.round === view.round ? view.estimate : null;
  const name = view.fieldId ? fieldName(model, view.fieldId) : null;
  const field = view.fieldId ? model.fieldsById.get(view.fieldId) : null;
  const written = current && current.written
    ? h(
        "div",
        { class: "message success", role: "status", dataset: { testid: "estimate-written" } },
        h(
          "p",
          {},
          h("span", { class: "icon-check", "aria-hidden": "true" }, "✓ "),
          h("strong", {}, current.value),
          current.number !== null && String(current.number) !== current.value ? ` (${number(current.number)})` : "",
          ` is in ${name} of ${view.issueKey}. Jira confirmed it.`,
        ),
        commentNote(current, view),
      )
    : null;
  if (!owner) {
    return written ? h("section", { class: "estimate" }, written) : null;
  }
  if (!view.fieldId) {
    return h(
      "section",
      { class: "estimate", "aria-labelledby": "estimate-title" },
      h("h2", { id: "estimate-title", class: "section-title" }, "Estimate"),
      h(
        "div",
        { class: "message info" },
        h("p", {}, "Choose a Jira field in the room settings to write the agreed estimate to the issue."),
        h("button", { type: "button", class: "button", dataset: { key: "choose-field" }, onclick: actions.editSettings }, "Choose a field"),
      ),
    );
  }
  const draft = model.estimateDraft;
  let mapping = null;
  if (field && field.kind === "number" && draft) {
    const mapped = view.valueMap[draft];
    const card = view.deck.cards.find((c) => c.label === draft);
    if (mapped !== undefined) mapping = h("p", { class: "hint", id: "estimate-hint" }, `${draft} is written as ${number(mapped)} — ${name} takes numbers.`);
    else if (card && card.value === null && !card.special)
      mapping = h("p", { class: "hint warning-text", id: "estimate-hint" }, `${draft} has no number, and ${name} takes numbers. Set one in the room settings or type a number.`);
  }
  if (view.fieldId && !field && model.fieldsLoaded) {
    mapping = h("p", { class: "hint warning-text", id: "estimate-hint" }, `${name} is not on the edit screen of ${view.issueKey}, so Jira may refuse it.`);
  }
  const failure = model.estimateFailure;
  // A comment Jira refused is tried again by writing the same estimate again.
  const done = Boolean(current && current.written && current.value === draft.trim() && current.comment !== "failed");
  const suggestion = view.results && view.results.suggestion;
  const suggested = suggestion
    ? h(
        "p",
        { class: "hint", id: "estimate-suggested", dataset: { testid: "suggested" } },
        `Suggested: ${suggestion.card} (${SUGGESTED_BY[suggestion.by] || suggestion.by})`,
      )
    : null;
  return h(
    "section",
    { class: "estimate", "aria-labelledby": "estimate-title" },
    h("h2", { id: "estimate-title", class: "section-title" }, "Estimate"),
    written,
    h(
      "form",
      { class: "estimate-form", onsubmit: actions.writeEstimate },
      h("label", { for: "estimate-value" }, "Agreed estimate"),
      h(
        "div",
        { class: "inline" },
        h("input", {
          id: "estimate-value",
          name: "value",
          type: "text",
          autocomplete: "off",
          maxlength: String(MAX_ESTIMATE),
          value: draft,
          "aria-describedby": [suggested ? "estimate-suggested" : "", mapping ? "estimate-hint" : ""].join(" ").trim() || null,
          "aria-invalid": failure ? "true" : null,
          dataset: { key: "estimate-value" },
          oninput: actions.draftEstimate,
        }),
        h(
          "button",
          { type: "submit", class: "button primary", disabled: model.estimateBusy || !draft.trim() || done, "aria-busy": model.estimateBusy ? "true" : null, dataset: { key: "write" } },
          model.estimateBusy ? "Writing…" : done ? "Written" : `Write to ${name}`,
        ),
      ),
      suggested,
      mapping,
    ),
    failure
      ? h(
          "div",
          { class: "message error", role: "alert", dataset: { testid: "estimate-error" } },
          h("p", {}, h("strong", {}, failure.fromJira ? "Jira did not take the estimate. " : "The estimate was not written. "), failure.message),
          h(
            "div",
            { class: "actions" },
            failure.code === "field_not_on_screen" || failure.code === "invalid_value"
              ? h("button", { type: "button", class: "button", dataset: { key: "fix-field" }, onclick: actions.editSettings }, "Choose another field")
              : null,
            failure.retry ? h("button", { type: "button", class: "button", dataset: { key: "retry-write" }, onclick: actions.writeEstimate }, "Try again") : null,
          ),
        )
      : null,
  );
}

function history(model, actions) {
  const { view, people } = model;
  if (!view.history.length) return null;
  const rounds = [...view.history].reverse().map((round) => {
    const r = round.results;
    const summary = [
      `Round ${round.round}`,
      round.revealed ? `${round.votes.length} ${round.votes.length === 1 ? "vote" : "votes"}` : "not revealed",
      r && r.modes.length ? `mode ${r.modes.join(", ")}` : null,
      round.estimate ? `estimate ${round.estimate}` : null,
    ]
      .filter(Boolean)
      .join(" · ");
    return h(
      "li",
      {},
      h(
        "details",
        { open: model.openRounds.has(round.round), ontoggle: (e) => actions.toggleRound(round.round, e.target.open) },
        h("summary", { dataset: { key: `round-${round.round}` } }, summary),
        h(
          "ul",
          { class: "round-votes" },
          round.votes.map((v) => h("li", {}, avatar(people, v.accountId, "small"), nameOf(people, v.accountId), h("span", { class: "mini-card face small" }, v.card ?? "✓"))),
        ),
        r && r.count ? h("p", { class: "muted" }, `Agreement ${Math.round(r.agreement * 100)}%${r.mean !== null ? ` · mean ${number(r.mean)}` : ""}${r.spread ? ` · spread ${r.spread.min}–${r.spread.max}` : ""}`) : null,
      ),
    );
  });
  return h(
    "section",
    { class: "history", "aria-labelledby": "history-title" },
    h("h2", { id: "history-title", class: "section-title" }, "Earlier rounds"),
    h("ol", { class: "rounds" }, rounds),
  );
}

/** Everything shown for a room. */
export function roomContent(model, actions) {
  const notice = model.notice
    ? h(
        "div",
        { class: `message ${model.notice.kind}`, role: model.notice.kind === "error" ? "alert" : "status" },
        h("p", {}, model.notice.text),
        h("button", { type: "button", class: "button link small", dataset: { key: "dismiss" }, onclick: actions.dismiss }, "Dismiss"),
      )
    : null;
  return h(
    "div",
    { class: `room state-${model.view.state}` },
    header(model, actions),
    notice,
    h(
      "div",
      { class: "layout" },
      h(
        "div",
        { class: "main" },
        model.view.state === "voting"
          ? [deck(model, actions), controls(model, actions)]
          : [results(model), estimate(model, actions), controls(model, actions), deck(model, actions)],
      ),
      h("div", { class: "side" }, team(model), history(model, actions)),
    ),
  );
}

/** Where the app's Jira comment on the written estimate stands (rooms that comment). */
function commentNote(estimate, view) {
  if (estimate.comment === "written") return h("p", { dataset: { testid: "estimate-comment" } }, `A comment with the estimate was added to ${view.issueKey}.`);
  if (estimate.comment === "pending") return h("p", { class: "muted", dataset: { testid: "estimate-comment" } }, `Adding a comment to ${view.issueKey}…`);
  if (estimate.comment === "failed") {
    return h("p", { class: "message warning", role: "alert", dataset: { testid: "estimate-comment" } }, `Jira did not take the comment on ${view.issueKey}; the estimate is written all the same. Write the estimate again to try the comment again.`);
  }
  return null;
}
