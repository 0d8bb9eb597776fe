// A project's refinement sessions (the project page): the list of its sessions, the
// new-session form (sessionform.js) and a session's page (sessionpage.js).
//
// Everything people typed or Jira holds as text stays in the browser: the page runs the
// JQL, reads summaries and descriptions through the host bridge (projectjira.js), and sends
// the server only issue keys, a field id and settings.

import { roomApi, sessionApi } from "./api.js";
import { hostFor } from "./host.js";
import { People } from "./people.js";
import { ProjectJira } from "./projectjira.js";
import { showNew } from "./sessionform.js";
import { openSession, stopSession } from "./sessionpage.js";
import { failureText, h } from "./ui.js";

const SESSION_STATES = { planning: "Not started", running: "Under way", finished: "Finished" };

const root = document.getElementById("sessions");

/** What the page's parts share: where they draw, the host, the APIs, Jira, navigation. */
const page = {
  root,
  project: { key: root.dataset.projectKey, id: root.dataset.projectId },
  show(...children) {
    root.replaceChildren(...children);
    root.dataset.ready = "true";
    page.host.resize();
  },
  fatal(message) {
    page.show(h("div", { class: "message error", role: "alert" }, h("p", {}, h("strong", {}, "The sessions cannot open. "), message)));
  },
  showList: (notice) => showList(notice),
  showNew: () => showNew(page),
  openSession: (id, first) => openSession(page, id, first),
  stopSession: () => stopSession(),
};

// -- the list ----------------------------------------------------------------------------------

async function showList(notice) {
  page.stopSession();
  let sessions;
  try {
    sessions = await page.api.list(page.project.key);
  } catch (error) {
    return page.fatal(failureText(error));
  }
  page.people.want(sessions.map((s) => s.owner).filter(Boolean));
  const rows = sessions.map((s) =>
    h(
      "li",
      { class: "session-line", dataset: { testid: "session-line", session: s.id } },
      h(
        "button",
        { type: "button", class: "link", onclick: () => page.openSession(s.id) },
        `${new Date(s.createdAt).toLocaleString()} · ${s.owner ? page.people.name(s.owner) : "no owner"}`,
      ),
      h("span", { class: `lozenge state-${s.state}` }, SESSION_STATES[s.state] || s.state),
      h("span", { class: "muted" }, `${s.estimated} of ${s.issues} estimated`),
    ),
  );
  page.show(
    h(
      "div",
      { class: "sessions-page" },
      h("div", { class: "page-head" }, h("h1", { class: "section-title" }, `Refinement sessions of ${page.project.key}`), h("button", { type: "button", class: "button primary", dataset: { key: "new-session" }, onclick: () => page.showNew() }, "New session")),
      notice ? h("p", { class: "message info", role: "status" }, notice) : null,
      rows.length
        ? h("ol", { class: "session-list", "aria-label": "Sessions, newest first" }, rows)
        : h("p", { class: "empty" }, "No sessions yet. Start one to estimate a backlog in one sitting: pick the issues with a JQL query or a saved filter, then everyone votes issue after issue."),
    ),
  );
}

// -- start ----------------------------------------------------------------------------------------

async function start() {
  try {
    page.host = hostFor(root.dataset.host);
  } catch (error) {
    root.replaceChildren(h("div", { class: "message error", role: "alert" }, h("p", {}, error.message)));
    return;
  }
  page.host.theme();
  page.api = sessionApi(page.host);
  page.rooms = roomApi(page.host);
  page.people = new People(page.host, () => {});
  page.jira = new ProjectJira(page.host, page.project.key);
  if (root.dataset.session) page.openSession(root.dataset.session);
  else showList();
}

start();
