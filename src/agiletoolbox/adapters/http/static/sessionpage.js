// One refinement session's page: the queue, the current issue (its text read from Jira by
// the browser) and its room, live over the session's socket. The owner drives over REST;
// every change comes back over the socket, the owner's own included, so the page shows
// what the server holds.

import { settingsOf } from "./config.js";
import { mountRoom } from "./roomview.js";
import { adfText } from "./projectjira.js";
import { busyWhile, renderEstimating } from "./sessionasync.js";
import { announce, confirmDialog, failureText, h } from "./ui.js";

const RETRY_MS = [500, 1000, 2000, 5000, 10000];
const STATE_NAMES = { pending: "To do", voting: "Voting", revealed: "Revealed", estimated: "Estimated", skipped: "Skipped" };
const OPEN = new Set(["pending", "voting", "revealed"]);


/** The sessions page's shared parts (sessions.js), once a session opened. */
let page = null;
let current = null; // {id, view, socket, room, roomKey, stopped, attempts, timer}

export function stopSession() {
  if (!current) return;
  current.stopped = true;
  clearTimeout(current.timer);
  if (current.socket) current.socket.close(1000, "bye");
  if (current.room) current.room.unmount();
  current = null;
}

export async function openSession(of, id, first) {
  page = of;
  stopSession();
  const state = { id, view: null, socket: null, room: null, roomKey: null, stopped: false, attempts: 0, timer: null, status: "connecting", role: null };
  current = state;
  const shell = h("div", { class: "sessions-page session-page", dataset: { testid: "session", session: id } });
  state.shell = shell;
  page.show(shell);
  if (first) accept(state, first);
  connect(state);
}

function connect(state) {
  if (state.stopped) return;
  page.api
    .ticket(state.id)
    .then((ticket) => {
      if (state.stopped) return;
      const socket = new WebSocket(page.host.socketUrl(`/api/sessions/${encodeURIComponent(state.id)}/live?ticket=${encodeURIComponent(ticket)}`));
      state.socket = socket;
      socket.onmessage = (event) => {
        const message = JSON.parse(event.data);
        if (message.type === "session") {
          state.attempts = 0;
          setStatus(state, "live");
          accept(state, message.session);
        } else if (message.type === "removed") {
          removed(state, false);
        }
      };
      socket.onclose = (event) => {
        if (state.stopped || state.socket !== socket) return;
        if (event.code === 4404) return removed(state, false);
        if (event.code === 4403) return page.fatal("This site may not use the app right now.");
        retry(state);
      };
    })
    .catch((error) => {
      if (error.status === 404) return removed(state, false);
      retry(state);
    });
}

function retry(state) {
  setStatus(state, "reconnecting");
  const wait = RETRY_MS[Math.min(state.attempts, RETRY_MS.length - 1)];
  state.attempts += 1;
  state.timer = setTimeout(() => connect(state), wait);
}

function setStatus(state, status) {
  if (state.status === status) return;
  state.status = status;
  const badge = state.shell.querySelector("[data-testid=session-connection]");
  if (badge) badge.textContent = status === "live" ? "Live" : "Reconnecting…";
}

function removed(state, byMe) {
  if (state.stopped) return;
  stopSession();
  const text = byMe ? "The session and the rooms it opened were removed." : "The owner removed this session.";
  announce(text);
  page.showList(text);
}

/** A view from the server (an answer, or the socket): newer versions only. Whether it
 * rendered. */
function accept(state, view) {
  if (state.stopped || (state.view && view.version < state.view.version)) return false;
  // The same view again (counts sent after a room change that moved none of them, an
  // answer the socket already brought): no render, which could move a control away from
  // under a pointer in the middle of a click.
  const text = JSON.stringify(view);
  if (state.view && text === state.viewText) return false;
  state.viewText = text;
  const previous = state.view;
  state.view = view;
  const keys = view.issues.map((i) => i.issueKey);
  const unknown = keys.filter((key) => !page.jira.issues.has(key));
  renderSession(state);
  if (unknown.length) page.jira.learn(unknown).then(() => state.view === view && renderSession(state));
  if (previous && previous.current !== view.current && view.current) announce(`Now estimating ${view.current}. ${page.jira.label(view.current)}`);
  return true;
}

function mine(view) {
  return Boolean(view.owner) && view.owner === view.you;
}

function step(state, name, body, what) {
  return page.api
    .step(state.id, name, body)
    .then((view) => accept(state, view))
    .catch((error) => {
      announce(`${what}: ${failureText(error)}`);
      const box = state.shell.querySelector("[data-testid=session-error]");
      if (box) {
        box.hidden = false;
        box.textContent = `${what}: ${failureText(error)}`;
      }
    });
}

function queueItem(state, entry, index, owner) {
  const view = state.view;
  const isCurrent = entry.issueKey === view.current;
  let counts = entry.state === "estimated" && entry.estimate !== null ? `Estimate ${entry.estimate}` : entry.voters ? `${entry.voted} of ${entry.voters} voted` : "";
  if (entry.state !== "estimated" && entry.reviewVotes !== null && entry.reviewVotes !== undefined) {
    // How the async phase ended: the review sorted the queue by it.
    counts = entry.reviewVotes === 0 ? "No votes before the review" : `Agreement ${percent(entry.reviewAgreement) || "–"} · ${entry.reviewVotes} ${entry.reviewVotes === 1 ? "vote" : "votes"}`;
  }
  const controls = owner && view.state !== "finished"
    ? h(
        "span",
        { class: "queue-controls" },
        isCurrent ? null : h("button", { type: "button", class: "button subtle", dataset: { key: `start-${entry.issueKey}` }, onclick: () => step(state, "current", { issueKey: entry.issueKey }, `${entry.issueKey} did not start`) }, "Estimate now"),
        h("button", { type: "button", class: "icon", "aria-label": `Move ${entry.issueKey} up`, disabled: index === 0, dataset: { key: `up-${entry.issueKey}` }, onclick: () => step(state, "move", { issueKey: entry.issueKey, position: index - 1 }, `${entry.issueKey} was not moved`) }, "↑"),
        h("button", { type: "button", class: "icon", "aria-label": `Move ${entry.issueKey} down`, disabled: index === view.issues.length - 1, dataset: { key: `down-${entry.issueKey}` }, onclick: () => step(state, "move", { issueKey: entry.issueKey, position: index + 1 }, `${entry.issueKey} was not moved`) }, "↓"),
        isCurrent ? null : h("button", { type: "button", class: "icon", "aria-label": `Take ${entry.issueKey} out of the session`, dataset: { key: `remove-${entry.issueKey}` }, onclick: () => page.api.removeIssue(state.id, entry.issueKey).then((v) => accept(state, v), (error) => announce(failureText(error))) }, "×"),
      )
    : null;
  const item = h(
    "li",
    { class: `queue-item state-${entry.state}${isCurrent ? " current" : ""}`, dataset: { testid: "queue-item", key: entry.issueKey, state: entry.state }, "aria-current": isCurrent ? "true" : null, draggable: owner ? "true" : null },
    h("span", { class: "key" }, entry.issueKey),
    h("span", { class: "summary" }, page.jira.label(entry.issueKey)),
    h("span", { class: `lozenge state-${entry.state}`, dataset: { testid: "issue-state" } }, STATE_NAMES[entry.state] || entry.state),
    counts ? h("span", { class: "counts muted", dataset: { testid: "issue-counts" } }, counts) : null,
    entry.unanimous && entry.state !== "estimated" ? h("span", { class: "lozenge state-estimated", dataset: { testid: "unanimous" } }, "Unanimous") : null,
    controls,
  );
  if (owner) {
    item.addEventListener("dragstart", (event) => event.dataTransfer.setData("text/plain", entry.issueKey));
    item.addEventListener("dragover", (event) => event.preventDefault());
    item.addEventListener("drop", (event) => {
      event.preventDefault();
      const key = event.dataTransfer.getData("text/plain");
      if (key && key !== entry.issueKey) step(state, "move", { issueKey: key, position: index }, `${key} was not moved`);
    });
  }
  return item;
}

function renderSession(state) {
  const view = state.view;
  if (!view) return;
  const owner = mine(view);
  const estimated = view.issues.filter((i) => i.state === "estimated").length;
  const live = view.state !== "finished";
  const estimating = view.mode === "async" && view.state === "running";
  // The box keeps what is typed in it across the session's views.
  if (owner && live && !state.adder) state.adder = addIssuesBox(state);
  const adder = owner && live ? state.adder : null;
  const head = h(
    "div",
    { class: "page-head" },
    h("h1", { class: "section-title" }, `Refinement session · ${estimated} of ${view.issues.length} estimated`),
    h("span", { class: "lozenge", dataset: { testid: "session-connection" } }, state.status === "live" ? "Live" : "Connecting…"),
    estimating ? null : h("button", { type: "button", class: "button", "aria-pressed": String(Boolean(state.showSummary)), dataset: { key: "summary" }, onclick: () => {
      state.showSummary = !state.showSummary;
      renderSession(state);
    } }, "Summary"),
    h("button", { type: "button", class: "button subtle", onclick: () => page.showList() }, "All sessions"),
  );
  const error = h("p", { class: "message error", role: "alert", hidden: true, dataset: { testid: "session-error" } });
  const focused = document.activeElement && state.shell.contains(document.activeElement) ? document.activeElement.dataset.key : null;
  const ownerButtons = [
    h("button", { type: "button", class: "button subtle", dataset: { key: "finish" }, onclick: () => step(state, "finish", undefined, "The session did not finish") }, "Finish session"),
    h("button", { type: "button", class: "button danger", dataset: { key: "remove-session" }, onclick: () => removeSession(state) }, "Remove session…"),
  ];
  if (estimating) {
    renderEstimating(state, {
      page,
      owner,
      head,
      error,
      adder,
      ownerButtons,
      issueText: (key) => issueText(key),
      placeRoom: (box, key, roomId, keptSlot) => placeRoom(state, box, key, roomId, keptSlot, { hidden: true }),
      step: (name, body, what) => step(state, name, body, what),
      rerender: () => renderSession(state),
    });
    refocus(state, focused);
    return;
  }
  const open = view.issues.filter((i) => OPEN.has(i.state) && i.issueKey !== view.current).length;
  const started = view.current || view.issues.some((i) => i.state !== "pending");
  const unanimous = view.issues.filter((i) => i.unanimous && OPEN.has(i.state)).length;
  const drive = owner && live
    ? h(
        "div",
        { class: "drive" },
        unanimous
          ? h("button", { type: "button", class: "button", dataset: { key: "accept-unanimous" }, onclick: (event) => busyWhile(event.currentTarget, acceptUnanimous(state)) }, `Accept all unanimous: ${unanimous} ${unanimous === 1 ? "issue" : "issues"}`)
          : null,
        open
          ? h("button", { type: "button", class: "button primary", dataset: { key: "next" }, onclick: () => step(state, "next", undefined, "Could not move on") }, started ? "Next issue" : "Start with the first issue")
          : h("p", { class: "muted", dataset: { testid: "all-done" } }, "Every issue is estimated or skipped. Pick one to estimate it again, or finish the session."),
        view.current ? h("button", { type: "button", class: "button", dataset: { key: "skip" }, onclick: () => step(state, "skip", undefined, "Could not skip") }, "Skip") : null,
        ...ownerButtons,
      )
    : null;
  const queue = h("ol", { class: "queue", "aria-label": "Issues of the session, in order" }, view.issues.map((entry, index) => queueItem(state, entry, index, owner)));
  const currentBox = h("section", { class: "current-issue", "aria-label": "Current issue", dataset: { testid: "current-issue" } });
  const keep = state.roomSlot;
  const finished = view.state === "finished" ? h("p", { class: "message info" }, "This session is finished. It stays here to read until retention removes it.") : null;
  const columns = h("div", { class: "session-columns" }, h("div", { class: "queue-column" }, queue, adder), currentBox);
  const notice = state.notice && owner ? acceptanceNotice(state.notice) : null;
  state.shell.replaceChildren(...[head, finished, drive, notice, error, columns].filter(Boolean));
  if (state.showSummary || view.state === "finished") {
    state.showSummary = true;
    renderSummary(state, currentBox);
    if (state.room) state.room.unmount();
    state.room = null;
    state.roomKey = null;
  } else {
    renderCurrent(state, currentBox, keep);
  }
  refocus(state, focused);
}

/** What "accept all unanimous" did: the estimates written, and those Jira refused. */
function acceptanceNotice(notice) {
  return h(
    "div",
    { class: "notices" },
    h("p", { class: "message success", role: "status", dataset: { testid: "accepted" } }, notice.written),
    notice.failed.length ? h("p", { class: "message error", role: "alert", dataset: { testid: "not-accepted" } }, `Not written: ${notice.failed.join(" · ")}`) : null,
  );
}

/** Focus goes back to the control that had it before a render (by its key), if any. */
function refocus(state, focused) {
  if (focused) {
    const again = state.shell.querySelector(`[data-key="${CSS.escape(focused)}"]`);
    if (again && !again.disabled) again.focus();
  }
  page.host.resize();
}

/** Reveal and write every unanimous issue; say what was written and what failed (the
 * note stays through the renders that follow, until the next time). */
async function acceptUnanimous(state) {
  const box = state.shell.querySelector("[data-testid=session-error]");
  try {
    const done = await page.api.step(state.id, "accept-unanimous");
    const written = done.accepted.length ? `Estimates written for ${done.accepted.join(", ")}.` : "No estimate was written.";
    const failed = done.failed.map((f) => `${f.issueKey}: ${f.message}`);
    state.notice = { written, failed };
    announce([written, ...failed].join(" "));
    if (!accept(state, done.session)) renderSession(state); // the notice is new either way
  } catch (error) {
    announce(`The estimates were not accepted: ${failureText(error)}`);
    if (box) {
      box.hidden = false;
      box.textContent = `The estimates were not accepted: ${failureText(error)}`;
    }
  }
}

function addIssuesBox(state) {
  const picker = page.jira.picker({
    id: "add-issue",
    placeholder: "Add an issue: key or words",
    keyPrefix: "add-",
    held: () => new Set(state.view.issues.map((i) => i.issueKey)),
    onPick: (key) => step(state, "issues", { issueKeys: [key] }, `${key} was not added`).then(() => announce(`${key} added to the session.`)),
  });
  return h("div", { class: "add-issues" }, h("label", { for: "add-issue" }, "Add an issue"), picker.input, picker.list);
}

/** The issue's summary and description, read from Jira by the browser. */
function issueText(key) {
  const details = h("div", { class: "issue-text" }, h("h2", { class: "current-title" }, h("span", { class: "key" }, key), " ", page.jira.label(key)), h("p", { class: "description muted", dataset: { testid: "description" } }, ""));
  page.jira.json(`/rest/api/3/issue/${encodeURIComponent(key)}?fields=summary,description`)
    .then((issue) => {
      const fields = issue.fields || {};
      page.jira.issues.set(key, { summary: fields.summary || "", type: (page.jira.issues.get(key) || {}).type || "" });
      details.querySelector(".current-title").lastChild.textContent = ` ${fields.summary || ""}`;
      details.querySelector(".description").textContent = adfText(fields.description).trim() || "No description.";
    })
    .catch(() => {});
  return details;
}

function renderCurrent(state, box, keptSlot) {
  const view = state.view;
  const key = view.current;
  if (!key) {
    if (state.room) state.room.unmount();
    state.room = null;
    state.roomKey = null;
    box.append(h("p", { class: "empty" }, view.state === "finished" ? "No issue is being estimated." : mine(view) ? "Pick an issue, or start with the first one." : "Waiting for the owner to start with an issue."));
    return;
  }
  box.append(issueText(key));
  const entry = view.issues.find((i) => i.issueKey === key);
  const kept = placeRoom(state, box, key, entry && entry.roomId, keptSlot, {
    onView: (roomView) => offerNext(state, roomView),
  });
  if (kept) placeOffer(state);
  else state.offerFor = null;
}

/**
 * The room of issue `key` in `box`, the same component as the issue panel's. The room
 * mounted already stays (its socket and state) when it is the same room shown the same
 * way; otherwise the new one is mounted. `hidden`: an async session's room before the
 * review (no reveal offered; the person joins it as a voter unless they chose otherwise).
 * The role someone takes in one issue's room is the one they join the next in. Whether
 * the room was kept.
 */
function placeRoom(state, box, key, roomId, keptSlot, { hidden = false, onView = null } = {}) {
  const roomKey = `${key}:${roomId}:${hidden ? "hidden" : "open"}`;
  if (state.room && state.roomKey === roomKey && keptSlot) {
    box.append(keptSlot);
    return true;
  }
  if (state.room) state.room.unmount();
  const slot = h("div", { class: "session-room", id: "room", dataset: { testid: "session-room" } });
  state.roomSlot = slot;
  state.roomKey = roomKey;
  box.append(slot);
  state.room = roomId
    ? mountRoom(slot, {
        host: page.host,
        issueKey: key,
        pageView: "session",
        embedded: true,
        hiddenVotes: hidden,
        autoJoin: hidden ? state.role || "voter" : state.role,
        onView: (roomView) => {
          const me = roomView.participants.find((p) => p.accountId === roomView.you);
          if (me) state.role = me.role;
          if (onView) onView(roomView);
        },
      })
    : null;
  if (!roomId) slot.append(h("p", { class: "muted" }, "The room opens in a moment…"));
  return false;
}

// -- the record ---------------------------------------------------------------------------------

const CSV_HEAD = ["Issue", "Summary", "Estimate", "Votes", "Agreement", "Rounds", "State"];

/** A CSV cell: quoted when it must be, never read as a formula by a spreadsheet. */
function csvCell(value) {
  let text = value === null || value === undefined ? "" : String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function percent(share) {
  return share === null || share === undefined ? "" : `${Math.round(share * 100)}%`;
}

/** The record as CSV, with the summaries this browser read from Jira (never the server's). */
function csvOf(record) {
  const rows = record.issues.map((r) => [r.issueKey, page.jira.label(r.issueKey), r.estimate, r.votes, percent(r.agreement), r.rounds, STATE_NAMES[r.state] || r.state]);
  return `${[CSV_HEAD, ...rows].map((row) => row.map(csvCell).join(",")).join("\r\n")}\r\n`;
}

function download(name, text) {
  const link = h("a", { href: URL.createObjectURL(new Blob([text], { type: "text/csv" })), download: name, hidden: true });
  document.body.append(link);
  link.click();
  setTimeout(() => {
    URL.revokeObjectURL(link.href);
    link.remove();
  }, 1000);
}

async function renderSummary(state, box) {
  const view = state.view;
  box.append(h("h2", { class: "current-title" }, "Summary"), h("p", { class: "muted", role: "status" }, "Reading the record…"));
  let record;
  try {
    record = await page.api.summary(state.id);
  } catch (error) {
    box.replaceChildren(h("p", { class: "message error", role: "alert" }, failureText(error)));
    return;
  }
  if (state.view !== view) return; // a newer view renders its own
  const rows = record.issues.map((r) =>
    h(
      "tr",
      { dataset: { testid: "record", key: r.issueKey } },
      h("td", { class: "key" }, r.issueKey),
      h("td", {}, page.jira.label(r.issueKey)),
      h("td", {}, r.estimate ?? "–"),
      h("td", {}, String(r.votes)),
      h("td", {}, percent(r.agreement) || "–"),
      h("td", {}, String(r.rounds)),
      h("td", {}, h("span", { class: `lozenge state-${r.state}` }, STATE_NAMES[r.state] || r.state)),
    ),
  );
  const points = Number.isInteger(record.points) ? record.points : Math.round(record.points * 100) / 100;
  const leftovers = view.issues.filter((i) => i.state !== "estimated").map((i) => i.issueKey);
  const again = mine(view) && leftovers.length
    ? h("button", { type: "button", class: "button", dataset: { key: "run-again" }, onclick: async () => {
        try {
          const opened = await page.api.create({ projectKey: view.projectKey, issueKeys: leftovers, mode: view.mode, ...settingsOf(view.config) });
          announce(`A new session of the ${leftovers.length} unestimated issues is open.`);
          page.openSession(opened.id, opened);
        } catch (error) {
          announce(failureText(error));
        }
      } }, `Run again with the ${leftovers.length} unestimated ${leftovers.length === 1 ? "issue" : "issues"}`)
    : null;
  const date = new Date(view.createdAt).toISOString().slice(0, 10);
  box.replaceChildren(
    h("h2", { class: "current-title" }, "Summary"),
    h("p", { dataset: { testid: "totals" } }, `${record.estimated} of ${record.issues.length} estimated · ${record.skipped} skipped · ${points} points added`),
    h("table", { class: "hits record" }, h("thead", {}, h("tr", {}, ...CSV_HEAD.map((name) => h("th", {}, name)))), h("tbody", {}, rows)),
    h(
      "div",
      { class: "drive" },
      h("button", { type: "button", class: "button primary", dataset: { key: "download" }, onclick: () => download(`${view.projectKey}-session-${date}.csv`, csvOf(record)) }, "Download CSV"),
      again,
    ),
  );
  page.host.resize();
}

/** When the current issue's estimate is in Jira, the owner is offered the next issue. */
function offerNext(state, roomView) {
  const written = roomView.estimate && roomView.estimate.written && roomView.estimate.round === roomView.round;
  state.offerFor = written ? roomView.issueKey : null;
  placeOffer(state);
}

function placeOffer(state) {
  const shown = state.shell.querySelector("[data-testid=next-offer]");
  const wanted = state.offerFor && state.view && state.offerFor === state.view.current && mine(state.view) && state.view.state !== "finished";
  const button = state.shell.querySelector("[data-key=next]");
  if (button) button.classList.toggle("offered", Boolean(wanted));
  if (!wanted) {
    if (shown) shown.remove();
    return;
  }
  if (shown || !state.roomSlot || !state.roomSlot.isConnected) return;
  const offer = h("p", { class: "message success", dataset: { testid: "next-offer" } }, `${state.offerFor} is estimated. `, h("button", { type: "button", class: "button primary", onclick: () => step(state, "next", undefined, "Could not move on") }, "Next issue"));
  state.roomSlot.before(offer);
  page.host.resize();
}

async function removeSession(state) {
  const view = state.view;
  const opened = view.issues.filter((i) => i.roomId).length;
  const confirmed = await confirmDialog({
    title: "Remove this session?",
    body: [
      h("p", {}, "This deletes at once, for everyone, and for good:"),
      h("ul", {}, h("li", {}, `the session and its queue of ${view.issues.length} issues`), h("li", {}, `the rooms it opened (${opened}), with their votes and rounds`)),
      h("p", {}, "Estimates written to Jira stay in Jira. Rooms the issues had before the session stay too."),
    ],
    confirm: "Remove session",
    danger: true,
  });
  if (!confirmed) return;
  try {
    await page.api.remove(state.id);
    removed(state, true);
  } catch (error) {
    if (error.status === 404) removed(state, true);
    else announce(failureText(error));
  }
}

