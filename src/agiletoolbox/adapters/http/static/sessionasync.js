// An async session while everyone estimates at their own pace. Each person walks the queue
// (Back, Skip, Next) and votes in each issue's room; the page shows their own cards and,
// of the team, counts only: how many voted on an issue, how many issues each person voted
// on. The owner sees who has finished and starts the review ("Finish & review"), which
// the server may also start at the deadline. Where a person is in the queue is theirs
// alone: it lives in this page, and the server holds only the votes.

import { h } from "./ui.js";

/** The button stays disabled while its request runs (a double click sends one). */
export function busyWhile(button, promise) {
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  return Promise.resolve(promise).finally(() => {
    button.disabled = false;
    button.removeAttribute("aria-busy");
  });
}

/** The issue to show first: the first one without your vote (else the first). */
function firstUnvoted(view) {
  const open = view.issues.find((i) => i.yourCard === null);
  return (open || view.issues[0] || {}).issueKey || null;
}

/** The next issue after `index` without your vote, going round; null when none is left. */
function nextUnvoted(view, index) {
  const n = view.issues.length;
  for (let step = 1; step < n; step += 1) {
    const entry = view.issues[(index + step) % n];
    if (entry.yourCard === null) return entry.issueKey;
  }
  return null;
}

/**
 * Render the estimating phase into `state.shell`. `parts` comes from the session page:
 * `page`, `owner`, `head`, `error`, `adder`, `ownerButtons` (finish and remove),
 * `issueText(key)`, `placeRoom(box, key, roomId, keptSlot)`, `step(name, body, what)` and
 * `rerender()`.
 */
export function renderEstimating(state, parts) {
  const { page, owner } = parts;
  const view = state.view;
  const keys = view.issues.map((i) => i.issueKey);
  if (!state.pick || !keys.includes(state.pick)) state.pick = firstUnvoted(view);
  const pick = (key) => {
    state.pick = key;
    parts.rerender();
  };
  page.people.onChange = parts.rerender;
  page.people.want(view.progress.map((p) => p.accountId));
  const total = keys.length;
  const finished = view.progress.filter((p) => total > 0 && p.done >= total);
  const everyone = view.progress.length > 0 && finished.length === view.progress.length;
  const nameOf = (id) => (id === view.you ? "You" : page.people.name(id, "Someone"));

  const deadline = view.deadline
    ? h("p", { class: "muted", dataset: { testid: "deadline" } }, `The review starts by itself at ${new Date(view.deadline).toLocaleString()}.`)
    : null;
  const intro = h("p", { class: "message info" }, "Async session: estimate each issue at your own pace. Nobody sees anyone's cards until the review.");
  const drive = owner
    ? h(
        "div",
        { class: "drive" },
        h("button", { type: "button", class: `button${everyone ? " primary offered" : ""}`, dataset: { key: "review" }, onclick: (event) => busyWhile(event.currentTarget, parts.step("review", undefined, "The review did not start")) }, "Finish & review"),
        h("span", { class: "muted", dataset: { testid: "finished-count" } }, everyone ? "Everyone has finished." : `${finished.length} of ${view.progress.length} finished. You can review now, or wait.`),
        ...parts.ownerButtons,
      )
    : null;
  const progress = h(
    "section",
    { class: "progress", "aria-labelledby": "progress-title", dataset: { testid: "progress" } },
    h("h2", { id: "progress-title", class: "section-title" }, "Progress"),
    h(
      "ul",
      { class: "people-progress" },
      view.progress.map((p) =>
        h(
          "li",
          { dataset: { testid: "person-progress", account: p.accountId, done: String(p.done) } },
          `${nameOf(p.accountId)}: ${p.done} of ${total}`,
          p.done >= total && total ? h("span", { class: "lozenge state-estimated" }, "Finished") : null,
        ),
      ),
    ),
  );
  const queue = h(
    "ol",
    { class: "queue", "aria-label": "Issues of the session, in order" },
    view.issues.map((entry) => {
      const picked = entry.issueKey === state.pick;
      return h(
        "li",
        { class: `queue-item${picked ? " current" : ""}`, dataset: { testid: "queue-item", key: entry.issueKey, state: entry.state }, "aria-current": picked ? "true" : null },
        h("button", { type: "button", class: "button subtle key", dataset: { key: `pick-${entry.issueKey}` }, "aria-label": `Estimate ${entry.issueKey}`, onclick: () => pick(entry.issueKey) }, entry.issueKey),
        h("span", { class: "summary" }, page.jira.label(entry.issueKey)),
        h("span", { class: "counts", dataset: { testid: "your-card" } }, entry.yourCard !== null ? `Your card: ${entry.yourCard}` : "No card yet"),
        h("span", { class: "counts muted" }, `${entry.voted} voted`),
      );
    }),
  );
  const box = h("section", { class: "current-issue", "aria-label": "Your issue", dataset: { testid: "current-issue" } });
  const columns = h("div", { class: "session-columns" }, h("div", { class: "queue-column" }, progress, queue, parts.adder), box);
  const keep = state.roomSlot;
  state.shell.replaceChildren(...[parts.head, intro, deadline, drive, parts.error, columns].filter(Boolean));

  const key = state.pick;
  if (!key) {
    box.append(h("p", { class: "empty" }, "The queue is empty."));
    return;
  }
  const index = keys.indexOf(key);
  const unvoted = nextUnvoted(view, index);
  const walk = h(
    "div",
    { class: "drive walk" },
    h("button", { type: "button", class: "button", disabled: index === 0, dataset: { key: "back" }, onclick: () => pick(keys[index - 1]) }, "← Back"),
    h("button", { type: "button", class: "button", disabled: !unvoted, dataset: { key: "skip" }, onclick: () => pick(unvoted) }, "Skip"),
    h("button", { type: "button", class: "button primary", disabled: index === keys.length - 1, dataset: { key: "walk-next" }, onclick: () => pick(keys[index + 1]) }, "Next →"),
    h("span", { class: "muted" }, `${index + 1} of ${total}`),
  );
  const mineDone = view.issues.filter((i) => i.yourCard !== null).length;
  const done = mineDone === total ? h("p", { class: "message success", dataset: { testid: "you-finished" } }, owner ? "You have a card on every issue. Review when the team is ready." : "You have a card on every issue. Thank you! You can still change any of them until the review.") : null;
  box.append(parts.issueText(key), walk, ...[done].filter(Boolean));
  parts.placeRoom(box, key, view.issues[index].roomId, keep);
}
