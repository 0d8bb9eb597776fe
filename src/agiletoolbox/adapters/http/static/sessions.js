// A project's refinement sessions (the project page): the list, the new-session form, and
// a session's page with its queue, the current issue and its room.
//
// Everything people typed or Jira holds as text stays in the browser: the page runs the
// JQL, reads summaries and descriptions through the host bridge, and sends the server only
// issue keys, a field id and settings. Once live, the page shows the session as the server
// holds it: every change comes back over the session's socket, the owner's own included.

import { roomApi, sessionApi } from "./api.js";
import { configForm, formValues } from "./config.js";
import { estimateFields } from "./fields.js";
import { hostFor } from "./host.js";
import { People } from "./people.js";
import { mountRoom } from "./roomview.js";
import { announce, confirmDialog, h, sentence } from "./ui.js";

const PAGE_SIZE = 50;
const PREFERRED = ["Story point estimate", "Story Points", "Story points"];
const RETRY_MS = [500, 1000, 2000, 5000, 10000];
const STATE_NAMES = { pending: "To do", voting: "Voting", revealed: "Revealed", estimated: "Estimated", skipped: "Skipped" };
const OPEN = new Set(["pending", "voting", "revealed"]);
const SESSION_STATES = { planning: "Not started", running: "Under way", finished: "Finished" };

const root = document.getElementById("sessions");
const project = { key: root.dataset.projectKey, id: root.dataset.projectId };
let host;
let api;
let rooms;
let people;

/** Issue facts read from Jira by the browser (never sent to the app): key -> {summary, type}. */
const issues = new Map();

function show(...children) {
  root.replaceChildren(...children);
  root.dataset.ready = "true";
  host.resize();
}

function fatal(message) {
  show(h("div", { class: "message error", role: "alert" }, h("p", {}, h("strong", {}, "The sessions cannot open. "), message)));
}

function errorText(error) {
  return sentence((error && error.message) || "Something went wrong.");
}

// -- Jira, from the browser -------------------------------------------------------------------

async function jiraJson(path, options) {
  const answer = await host.jira(path, options);
  if (answer.status >= 200 && answer.status < 300) return answer.body;
  const messages = (answer.body && answer.body.errorMessages) || [];
  throw new Error(messages[0] || `Jira answered ${answer.status}.`);
}

/** One page of a JQL search: `{hits: [{key, summary, type, estimate}], next}`. */
async function searchPage(jql, next, estimateField) {
  const fields = ["summary", "issuetype", ...(estimateField ? [estimateField] : [])];
  const body = { jql, maxResults: PAGE_SIZE, fields, ...(next ? { nextPageToken: next } : {}) };
  const found = await jiraJson("/rest/api/3/search/jql", { method: "POST", body });
  const hits = (found.issues || []).map((issue) => {
    const f = issue.fields || {};
    const type = f.issuetype || {};
    const hit = { key: issue.key, summary: f.summary || "", type: type.name || "", typeId: type.id || "", icon: type.iconUrl || "", estimate: estimateField ? f[estimateField] : null };
    issues.set(hit.key, { summary: hit.summary, type: hit.type });
    return hit;
  });
  return { hits, next: found.isLast ? null : found.nextPageToken || null };
}

/** Summaries and types of `keys` not read yet, in one search. */
async function learn(keys) {
  const missing = keys.filter((key) => !issues.has(key));
  for (let at = 0; at < missing.length; at += PAGE_SIZE) {
    const chunk = missing.slice(at, at + PAGE_SIZE);
    try {
      await searchPage(`key in (${chunk.join(", ")})`, null, null);
    } catch {
      // Shown as keys alone; the next view tries again.
    }
  }
}

/** The project's estimate field, guessed from Jira's field list (story points first). */
async function guessEstimateField() {
  try {
    const fields = await jiraJson("/rest/api/3/field");
    const found = fields.find((f) => PREFERRED.includes(f.name));
    return found ? { id: found.id, name: found.name } : null;
  } catch {
    return null;
  }
}

function adfText(node) {
  if (!node || typeof node !== "object") return "";
  if (node.type === "text") return String(node.text || "");
  const inner = (node.content || []).map(adfText).join("");
  return ["paragraph", "heading", "listItem", "blockquote", "codeBlock"].includes(node.type) ? `${inner}\n` : inner;
}

function issueLabel(key) {
  const known = issues.get(key);
  return known && known.summary ? known.summary : "";
}

// -- the list ----------------------------------------------------------------------------------

async function showList(notice) {
  stopSession();
  let sessions;
  try {
    sessions = await api.list(project.key);
  } catch (error) {
    return fatal(errorText(error));
  }
  people.want(sessions.map((s) => s.owner).filter(Boolean));
  const rows = sessions.map((s) =>
    h(
      "li",
      { class: "session-line", dataset: { testid: "session-line", session: s.id } },
      h(
        "button",
        { type: "button", class: "link", onclick: () => openSession(s.id) },
        `${new Date(s.createdAt).toLocaleString()} · ${s.owner ? people.name(s.owner) : "no owner"}`,
      ),
      h("span", { class: `lozenge state-${s.state}` }, SESSION_STATES[s.state] || s.state),
      h("span", { class: "muted" }, `${s.estimated} of ${s.issues} estimated`),
    ),
  );
  show(
    h(
      "div",
      { class: "sessions-page" },
      h("div", { class: "page-head" }, h("h1", { class: "section-title" }, `Refinement sessions of ${project.key}`), h("button", { type: "button", class: "button primary", dataset: { key: "new-session" }, onclick: () => showNew() }, "New session")),
      notice ? h("p", { class: "message info", role: "status" }, notice) : null,
      rows.length
        ? h("ol", { class: "session-list", "aria-label": "Sessions, newest first" }, rows)
        : h("p", { class: "empty" }, "No sessions yet. Start one to estimate a backlog in one sitting: pick the issues with a JQL query or a saved filter, then everyone votes issue after issue."),
    ),
  );
}

// -- a new session -------------------------------------------------------------------------------

async function showNew() {
  stopSession();
  const estimate = await guessEstimateField();
  const defaultJql = `project = ${project.key} AND statusCategory != Done${estimate ? ` AND "${estimate.name}" is EMPTY` : ""} ORDER BY Rank`;
  const picked = []; // keys, in order
  const hits = new Map(); // key -> hit
  let next = null;
  let fields = { ok: false, fields: [], message: "Search for issues first: the fields come from them." };

  const query = h("textarea", { id: "jql", rows: "2", class: "jql", spellcheck: "false", "aria-describedby": "jql-hint" });
  query.value = defaultJql;
  const filters = h("select", { id: "filter", "aria-label": "Saved filter" }, h("option", { value: "" }, "Or run a saved filter…"));
  const status = h("p", { class: "muted", role: "status", id: "search-status" });
  const table = h("tbody");
  const more = h("button", { type: "button", class: "button", hidden: true, dataset: { key: "more" } }, "Load more");
  const pickerInput = h("input", { id: "picker", type: "search", placeholder: "Issue key or words of its summary", autocomplete: "off" });
  const suggestions = h("ul", { class: "suggestions", role: "listbox", "aria-label": "Matching issues" });
  const count = h("p", { class: "count", dataset: { testid: "picked-count" } });
  const formSlot = h("div", { class: "form-slot" });

  function row(hit) {
    const box = h("input", { type: "checkbox", checked: picked.includes(hit.key), "aria-label": `Estimate ${hit.key}`, dataset: { key: hit.key } });
    box.addEventListener("change", () => {
      if (box.checked && !picked.includes(hit.key)) picked.push(hit.key);
      if (!box.checked) picked.splice(picked.indexOf(hit.key), 1);
      counted();
    });
    return h(
      "tr",
      { dataset: { testid: "hit", key: hit.key } },
      h("td", {}, box),
      h("td", { class: "key" }, hit.key),
      h("td", {}, h("span", { class: "type" }, hit.icon ? h("img", { src: hit.icon, alt: "", width: "16", height: "16" }) : null, hit.type)),
      h("td", {}, hit.summary),
      h("td", { class: "estimate" }, hit.estimate === null || hit.estimate === undefined ? "–" : typeof hit.estimate === "object" ? String(hit.estimate.value) : String(hit.estimate)),
    );
  }

  function counted() {
    count.textContent = picked.length === 1 ? "1 issue picked" : `${picked.length} issues picked`;
  }

  function add(found) {
    for (const hit of found) {
      if (hits.has(hit.key)) continue;
      hits.set(hit.key, hit);
      picked.push(hit.key);
      table.append(row(hit));
    }
    counted();
  }

  let defaults = null;

  async function loadFields() {
    if (fields.ok || !picked.length) return;
    const first = hits.get(picked[0]);
    [fields, defaults] = await Promise.all([
      estimateFields(host, picked[0]),
      rooms.defaults(picked[0], first && first.typeId).catch(() => null),
    ]);
    renderForm();
  }

  async function run(jql, page) {
    status.textContent = "Searching…";
    try {
      const found = await searchPage(jql, page, estimate && estimate.id);
      add(found.hits);
      next = found.next ? { jql, token: found.next } : null;
      more.hidden = !next;
      status.textContent = hits.size ? `${hits.size} issues found${next ? " so far" : ""}.` : "No issue matches.";
      announce(status.textContent);
      await loadFields();
    } catch (error) {
      status.textContent = errorText(error);
      status.className = "message error";
    }
    host.resize();
  }

  function search(jql) {
    hits.clear();
    picked.splice(0);
    table.replaceChildren();
    status.className = "muted";
    counted();
    run(jql, null);
  }

  more.addEventListener("click", () => next && run(next.jql, next.token));
  filters.addEventListener("change", () => {
    const option = filters.selectedOptions[0];
    if (option && option.dataset.jql) {
      query.value = option.dataset.jql;
      search(option.dataset.jql);
    }
  });

  let pickerTimer = null;
  pickerInput.addEventListener("input", () => {
    clearTimeout(pickerTimer);
    pickerTimer = setTimeout(async () => {
      const text = pickerInput.value.trim();
      if (!text) return suggestions.replaceChildren();
      try {
        const found = await jiraJson(`/rest/api/3/issue/picker?query=${encodeURIComponent(text)}&currentJQL=${encodeURIComponent(`project = ${project.key}`)}`);
        const seen = new Map();
        for (const section of found.sections || []) for (const issue of section.issues || []) seen.set(issue.key, issue);
        suggestions.replaceChildren(
          ...[...seen.values()].slice(0, 10).map((issue) =>
            h("li", {}, h("button", { type: "button", class: "suggestion", role: "option", dataset: { key: issue.key }, onclick: () => {
              const hit = { key: issue.key, summary: issue.summaryText || "", type: "", estimate: null };
              issues.set(hit.key, { summary: hit.summary, type: "" });
              add([hit]);
              suggestions.replaceChildren();
              pickerInput.value = "";
              announce(`${issue.key} added.`);
              loadFields();
            } }, `${issue.key} ${issue.summaryText || ""}`)),
          ),
        );
        host.resize();
      } catch {
        suggestions.replaceChildren();
      }
    }, 250);
  });

  function renderForm() {
    const guessed = fields.fields.some((f) => estimate && f.id === estimate.id) ? estimate.id : null;
    const form = configForm({
      mode: "session",
      issueKey: picked[0] || project.key,
      values: defaults ? formValues(defaults) : { ...formValues(null), fieldId: guessed },
      fields,
      defaultsLoaded: Boolean(defaults),
      onSubmit: async (settings) => {
        if (!picked.length) throw new Error("Pick at least one issue to estimate.");
        const first = hits.get(picked[0]);
        if (settings.saveAsDefault && first && first.typeId) settings.issueTypeId = first.typeId;
        else delete settings.saveAsDefault;
        const opened = await api.create({ projectKey: project.key, issueKeys: [...picked], mode: "live", ...settings });
        announce(`The session of ${picked.length} issues is open.`);
        openSession(opened.id, opened);
      },
      onCancel: () => showList(),
    });
    formSlot.replaceChildren(form);
    host.resize();
  }

  show(
    h(
      "div",
      { class: "sessions-page new-session" },
      h("div", { class: "page-head" }, h("h1", { class: "section-title" }, "New refinement session"), h("button", { type: "button", class: "button subtle", onclick: () => showList() }, "All sessions")),
      h(
        "section",
        { class: "pick", "aria-labelledby": "pick-title" },
        h("h2", { id: "pick-title", class: "form-title" }, "Issues to estimate"),
        h("label", { for: "jql" }, "JQL query"),
        query,
        h("p", { id: "jql-hint", class: "muted" }, "Runs in your browser, with your Jira permissions. The app is sent the issue keys you pick, never the query."),
        h("div", { class: "search-row" }, h("button", { type: "button", class: "button primary", dataset: { key: "search" }, onclick: () => search(query.value.trim()) }, "Search"), filters),
        status,
        h("table", { class: "hits" }, h("thead", {}, h("tr", {}, h("th", {}, h("span", { class: "visually-hidden" }, "Pick")), h("th", {}, "Key"), h("th", {}, "Type"), h("th", {}, "Summary"), h("th", {}, estimate ? estimate.name : "Estimate"))), table),
        more,
        h("label", { for: "picker" }, "Add an issue by hand"),
        pickerInput,
        suggestions,
        count,
      ),
      formSlot,
    ),
  );
  renderForm();
  jiraJson("/rest/api/3/filter/search?expand=jql&maxResults=50")
    .then((found) => {
      for (const saved of found.values || []) filters.append(h("option", { value: saved.id, dataset: { jql: saved.jql } }, saved.name));
    })
    .catch(() => {});
  search(defaultJql);
}

// -- one session --------------------------------------------------------------------------------

let current = null; // {id, view, socket, room, roomKey, stopped, attempts, timer}

function stopSession() {
  if (!current) return;
  current.stopped = true;
  clearTimeout(current.timer);
  if (current.socket) current.socket.close(1000, "bye");
  if (current.room) current.room.unmount();
  current = null;
}

async function openSession(id, first) {
  stopSession();
  const state = { id, view: null, socket: null, room: null, roomKey: null, stopped: false, attempts: 0, timer: null, status: "connecting", role: null };
  current = state;
  const shell = h("div", { class: "sessions-page session-page", dataset: { testid: "session", session: id } });
  state.shell = shell;
  show(shell);
  if (first) accept(state, first);
  connect(state);
}

function connect(state) {
  if (state.stopped) return;
  api
    .ticket(state.id)
    .then((ticket) => {
      if (state.stopped) return;
      const socket = new WebSocket(host.socketUrl(`/api/sessions/${encodeURIComponent(state.id)}/live?ticket=${encodeURIComponent(ticket)}`));
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
        if (event.code === 4403) return fatal("This site may not use the app right now.");
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
  showList(text);
}

/** A view from the server (an answer, or the socket): newer versions only. */
function accept(state, view) {
  if (state.stopped || (state.view && view.version < state.view.version)) return;
  const previous = state.view;
  state.view = view;
  const keys = view.issues.map((i) => i.issueKey);
  const unknown = keys.filter((key) => !issues.has(key));
  renderSession(state);
  if (unknown.length) learn(unknown).then(() => state.view === view && renderSession(state));
  if (previous && previous.current !== view.current && view.current) announce(`Now estimating ${view.current}. ${issueLabel(view.current)}`);
}

function mine(view) {
  return Boolean(view.owner) && view.owner === view.you;
}

function step(state, name, body, what) {
  return api
    .step(state.id, name, body)
    .then((view) => accept(state, view))
    .catch((error) => {
      announce(`${what}: ${errorText(error)}`);
      const box = state.shell.querySelector("[data-testid=session-error]");
      if (box) {
        box.hidden = false;
        box.textContent = `${what}: ${errorText(error)}`;
      }
    });
}

function queueItem(state, entry, index, owner) {
  const view = state.view;
  const isCurrent = entry.issueKey === view.current;
  const counts = entry.state === "estimated" && entry.estimate !== null ? `Estimate ${entry.estimate}` : entry.voters ? `${entry.voted} of ${entry.voters} voted` : "";
  const controls = owner && view.state !== "finished"
    ? h(
        "span",
        { class: "queue-controls" },
        isCurrent ? null : h("button", { type: "button", class: "button subtle", dataset: { key: `start-${entry.issueKey}` }, onclick: () => step(state, "current", { issueKey: entry.issueKey }, `${entry.issueKey} did not start`) }, "Estimate now"),
        h("button", { type: "button", class: "icon", "aria-label": `Move ${entry.issueKey} up`, disabled: index === 0, dataset: { key: `up-${entry.issueKey}` }, onclick: () => step(state, "move", { issueKey: entry.issueKey, position: index - 1 }, `${entry.issueKey} was not moved`) }, "↑"),
        h("button", { type: "button", class: "icon", "aria-label": `Move ${entry.issueKey} down`, disabled: index === view.issues.length - 1, dataset: { key: `down-${entry.issueKey}` }, onclick: () => step(state, "move", { issueKey: entry.issueKey, position: index + 1 }, `${entry.issueKey} was not moved`) }, "↓"),
        isCurrent ? null : h("button", { type: "button", class: "icon", "aria-label": `Take ${entry.issueKey} out of the session`, dataset: { key: `remove-${entry.issueKey}` }, onclick: () => api.removeIssue(state.id, entry.issueKey).then((v) => accept(state, v), (error) => announce(errorText(error))) }, "×"),
      )
    : null;
  const item = h(
    "li",
    { class: `queue-item state-${entry.state}${isCurrent ? " current" : ""}`, dataset: { testid: "queue-item", key: entry.issueKey, state: entry.state }, "aria-current": isCurrent ? "true" : null, draggable: owner ? "true" : null },
    h("span", { class: "key" }, entry.issueKey),
    h("span", { class: "summary" }, issueLabel(entry.issueKey)),
    h("span", { class: `lozenge state-${entry.state}`, dataset: { testid: "issue-state" } }, STATE_NAMES[entry.state] || entry.state),
    counts ? h("span", { class: "counts muted" }, counts) : null,
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
  // The box keeps what is typed in it across the session's views.
  if (owner && live && !state.adder) state.adder = addIssuesBox(state);
  const adder = owner && live ? state.adder : null;
  const head = h(
    "div",
    { class: "page-head" },
    h("h1", { class: "section-title" }, `Refinement session · ${estimated} of ${view.issues.length} estimated`),
    h("span", { class: "lozenge", dataset: { testid: "session-connection" } }, state.status === "live" ? "Live" : "Connecting…"),
    h("button", { type: "button", class: "button subtle", onclick: () => showList() }, "All sessions"),
  );
  const open = view.issues.filter((i) => OPEN.has(i.state) && i.issueKey !== view.current).length;
  const started = view.current || view.issues.some((i) => i.state !== "pending");
  const drive = owner && live
    ? h(
        "div",
        { class: "drive" },
        open
          ? h("button", { type: "button", class: "button primary", dataset: { key: "next" }, onclick: () => step(state, "next", undefined, "Could not move on") }, started ? "Next issue" : "Start with the first issue")
          : h("p", { class: "muted", dataset: { testid: "all-done" } }, "Every issue is estimated or skipped. Pick one to estimate it again, or finish the session."),
        view.current ? h("button", { type: "button", class: "button", dataset: { key: "skip" }, onclick: () => step(state, "skip", undefined, "Could not skip") }, "Skip") : null,
        h("button", { type: "button", class: "button subtle", dataset: { key: "finish" }, onclick: () => step(state, "finish", undefined, "The session did not finish") }, "Finish session"),
        h("button", { type: "button", class: "button danger", dataset: { key: "remove-session" }, onclick: () => removeSession(state) }, "Remove session…"),
      )
    : null;
  const queue = h("ol", { class: "queue", "aria-label": "Issues of the session, in order" }, view.issues.map((entry, index) => queueItem(state, entry, index, owner)));
  const error = h("p", { class: "message error", role: "alert", hidden: true, dataset: { testid: "session-error" } });
  const currentBox = h("section", { class: "current-issue", "aria-label": "Current issue", dataset: { testid: "current-issue" } });
  const focused = document.activeElement && state.shell.contains(document.activeElement) ? document.activeElement.dataset.key : null;
  const keep = state.roomSlot;
  const finished = view.state === "finished" ? h("p", { class: "message info" }, "This session is finished. It stays here to read until retention removes it.") : null;
  const columns = h("div", { class: "session-columns" }, h("div", { class: "queue-column" }, queue, adder), currentBox);
  state.shell.replaceChildren(...[head, finished, drive, error, columns].filter(Boolean));
  renderCurrent(state, currentBox, keep);
  if (focused) {
    const again = state.shell.querySelector(`[data-key="${CSS.escape(focused)}"]`);
    if (again && !again.disabled) again.focus();
  }
  host.resize();
}

function addIssuesBox(state) {
  const input = h("input", { type: "search", id: "add-issue", placeholder: "Add an issue: key or words", autocomplete: "off" });
  const list = h("ul", { class: "suggestions", role: "listbox", "aria-label": "Matching issues" });
  let timer = null;
  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const text = input.value.trim();
      if (!text) return list.replaceChildren();
      try {
        const found = await jiraJson(`/rest/api/3/issue/picker?query=${encodeURIComponent(text)}&currentJQL=${encodeURIComponent(`project = ${project.key}`)}`);
        const held = new Set(state.view.issues.map((i) => i.issueKey));
        const seen = new Map();
        for (const section of found.sections || []) for (const issue of section.issues || []) if (!held.has(issue.key)) seen.set(issue.key, issue);
        list.replaceChildren(
          ...[...seen.values()].slice(0, 8).map((issue) =>
            h("li", {}, h("button", { type: "button", class: "suggestion", role: "option", dataset: { key: `add-${issue.key}` }, onclick: () => {
              issues.set(issue.key, { summary: issue.summaryText || "", type: "" });
              list.replaceChildren();
              input.value = "";
              step(state, "issues", { issueKeys: [issue.key] }, `${issue.key} was not added`).then(() => announce(`${issue.key} added to the session.`));
            } }, `${issue.key} ${issue.summaryText || ""}`)),
          ),
        );
        host.resize();
      } catch {
        list.replaceChildren();
      }
    }, 250);
  });
  return h("div", { class: "add-issues" }, h("label", { for: "add-issue" }, "Add an issue"), input, list);
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
  const details = h("div", { class: "issue-text" }, h("h2", { class: "current-title" }, h("span", { class: "key" }, key), " ", issueLabel(key)), h("p", { class: "description muted", dataset: { testid: "description" } }, ""));
  box.append(details);
  jiraJson(`/rest/api/3/issue/${encodeURIComponent(key)}?fields=summary,description`)
    .then((issue) => {
      const fields = issue.fields || {};
      issues.set(key, { summary: fields.summary || "", type: (issues.get(key) || {}).type || "" });
      details.querySelector(".current-title").lastChild.textContent = ` ${fields.summary || ""}`;
      details.querySelector(".description").textContent = adfText(fields.description).trim() || "No description.";
    })
    .catch(() => {});
  const entry = view.issues.find((i) => i.issueKey === key);
  const roomId = entry && entry.roomId;
  if (state.room && state.roomKey === `${key}:${roomId}` && keptSlot) {
    box.append(keptSlot); // the same room stays mounted (its socket and state)
    placeOffer(state);
    return;
  }
  state.offerFor = null;
  if (state.room) state.room.unmount();
  const slot = h("div", { class: "session-room", id: "room", dataset: { testid: "session-room" } });
  state.roomSlot = slot;
  box.append(slot);
  state.roomKey = `${key}:${roomId}`;
  state.room = roomId
    ? mountRoom(slot, {
        host,
        issueKey: key,
        pageView: "session",
        embedded: true,
        autoJoin: state.role,
        onView: (roomView) => {
          const me = roomView.participants.find((p) => p.accountId === roomView.you);
          if (me) state.role = me.role; // the next issue's room is joined the same way
          offerNext(state, roomView);
        },
      })
    : null;
  if (!roomId) slot.append(h("p", { class: "muted" }, "The room opens in a moment…"));
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
  host.resize();
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
    await api.remove(state.id);
    removed(state, true);
  } catch (error) {
    if (error.status === 404) removed(state, true);
    else announce(errorText(error));
  }
}

// -- start ----------------------------------------------------------------------------------------

async function start() {
  try {
    host = hostFor(root.dataset.host);
  } catch (error) {
    root.replaceChildren(h("div", { class: "message error", role: "alert" }, h("p", {}, error.message)));
    return;
  }
  host.theme();
  api = sessionApi(host);
  rooms = roomApi(host);
  people = new People(host, () => {});
  if (root.dataset.session) openSession(root.dataset.session);
  else showList();
}

start();
