// The new-session form of the sessions page: issues from a JQL query or a saved filter, page
// by page, or by hand with the issue picker (all read by the browser), then the settings
// every issue's room gets. The server is sent the picked keys and the settings only.

import { configForm, formValues } from "./config.js";
import { estimateFields } from "./fields.js";
import { announce, failureText, h } from "./ui.js";


export async function showNew(page) {
  page.stopSession();
  const estimate = await page.jira.guessEstimateField();
  const defaultJql = `project = ${page.project.key} AND statusCategory != Done${estimate ? ` AND "${estimate.name}" is EMPTY` : ""} ORDER BY Rank`;
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
  const picker = page.jira.picker({
    id: "picker",
    placeholder: "Issue key or words of its summary",
    keyPrefix: "",
    held: () => new Set(picked),
    onPick: (key, summary) => {
      add([{ key, summary, type: "", typeId: "", icon: "", estimate: null }]);
      announce(`${key} added.`);
      loadFields();
    },
  });
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
      estimateFields(page.host, picked[0]),
      page.rooms.defaults(picked[0], first && first.typeId).catch(() => null),
    ]);
    renderForm();
  }

  async function run(jql, token) {
    status.textContent = "Searching…";
    try {
      const found = await page.jira.searchPage(jql, token, estimate && estimate.id);
      add(found.hits);
      next = found.next ? { jql, token: found.next } : null;
      more.hidden = !next;
      status.textContent = hits.size ? `${hits.size} issues found${next ? " so far" : ""}.` : "No issue matches.";
      announce(status.textContent);
      await loadFields();
    } catch (error) {
      status.textContent = failureText(error);
      status.className = "message error";
    }
    page.host.resize();
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

  // How the team goes through the queue: live behind the owner, or async with a deadline.
  const modeName = "session-mode";
  const radio = (value, label, hint, checked) =>
    h("label", { class: "choice" }, h("input", { type: "radio", name: modeName, value, checked, dataset: { key: `mode-${value}` }, onchange: () => { deadlineRow.hidden = value !== "async"; page.host.resize(); } }), h("span", {}, h("strong", {}, label), h("span", { class: "muted" }, ` ${hint}`)));
  const deadline = h("input", { type: "datetime-local", id: "deadline", dataset: { key: "deadline" }, "aria-describedby": "deadline-hint" });
  const deadlineRow = h("div", { class: "deadline", hidden: true }, h("label", { for: "deadline" }, "Review starts by itself at (optional)"), deadline, h("p", { id: "deadline-hint", class: "muted" }, "Your local time. Without one, the review starts when you start it."));
  const modes = h(
    "fieldset",
    { class: "modes choices" },
    h("legend", { class: "form-title" }, "How the team estimates"),
    radio("live", "Live", "everyone follows you from issue to issue.", true),
    radio("async", "Async", "everyone estimates the queue at their own pace; then you review the results live, the least agreed first.", false),
    deadlineRow,
  );

  function howChosen() {
    const chosen = modes.querySelector(`input[name=${modeName}]:checked`);
    if (!chosen || chosen.value !== "async") return { mode: "live" };
    if (!deadline.value) return { mode: "async" };
    const at = new Date(deadline.value);
    if (Number.isNaN(at.getTime()) || at.getTime() <= Date.now()) throw new Error("Pick a deadline in the future, or none.");
    return { mode: "async", deadline: at.toISOString() };
  }

  function renderForm() {
    const guessed = fields.fields.some((f) => estimate && f.id === estimate.id) ? estimate.id : null;
    const form = configForm({
      mode: "session",
      issueKey: picked[0] || page.project.key,
      values: defaults ? formValues(defaults) : { ...formValues(null), fieldId: guessed },
      fields,
      defaultsLoaded: Boolean(defaults),
      onSubmit: async (settings) => {
        if (!picked.length) throw new Error("Pick at least one issue to estimate.");
        const first = hits.get(picked[0]);
        if (settings.saveAsDefault && first && first.typeId) settings.issueTypeId = first.typeId;
        else delete settings.saveAsDefault;
        const opened = await page.api.create({ projectKey: page.project.key, issueKeys: [...picked], ...howChosen(), ...settings });
        announce(`The session of ${picked.length} issues is open.`);
        page.openSession(opened.id, opened);
      },
      onCancel: () => page.showList(),
    });
    formSlot.replaceChildren(form);
    page.host.resize();
  }

  page.show(
    h(
      "div",
      { class: "sessions-page new-session" },
      h("div", { class: "page-head" }, h("h1", { class: "section-title" }, "New refinement session"), h("button", { type: "button", class: "button subtle", onclick: () => page.showList() }, "All sessions")),
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
        picker.input,
        picker.list,
        count,
      ),
      modes,
      formSlot,
    ),
  );
  renderForm();
  page.jira.json("/rest/api/3/filter/search?expand=jql&maxResults=50")
    .then((found) => {
      for (const saved of found.values || []) filters.append(h("option", { value: saved.id, dataset: { jql: saved.jql } }, saved.name));
    })
    .catch(() => {});
  search(defaultJql);
}

