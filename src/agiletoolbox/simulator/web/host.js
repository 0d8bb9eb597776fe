// The simulated Jira issue view and project page: the host half of the AP bridge, the app's
// glance panel, dialog and project page, flags, the user switcher, and the issue's fields
// kept fresh.

const config = JSON.parse(document.getElementById("jira-config").textContent);
const SESSION_HEADER = "X-Simulator-Session";
const frames = new Map(); // contentWindow -> {iframe, module, origin, channel, container}
const MAX_PANEL_HEIGHT = 4000;

function jiraFetch(path, init = {}) {
  const headers = Object.assign({}, init.headers || {}, { [SESSION_HEADER]: config.session });
  return fetch(config.basePath + path, Object.assign({}, init, { headers, credentials: "omit" }));
}

async function bridgeCall(path, body) {
  const response = await jiraFetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${path} answered ${response.status}`);
  return response.json();
}

// -- the app's frames ------------------------------------------------------------------------

/** What the bridge is told about where the page is: the issue, or the project page. */
function where() {
  return config.issue ? { issue: config.issue.key } : { project: config.project.key, ac: config.ac || {} };
}

async function openModule(module, container, { sizeToParent = false } = {}) {
  const { url } = await bridgeCall("/bridge/iframe", { module, ...where(), app: config.app.key });
  const parsed = new URL(url);
  const iframe = document.createElement("iframe");
  iframe.src = url;
  const titles = { "room-dialog": "Planning poker dialog", sessions: "Refinement sessions" };
  iframe.title = `${titles[module] || "Planning poker"} (app)`;
  iframe.className = sizeToParent ? "app-frame fill" : "app-frame";
  iframe.dataset.module = module;
  container.replaceChildren(iframe);
  frames.set(iframe.contentWindow, {
    iframe,
    module,
    container,
    origin: parsed.origin,
    channel: parsed.searchParams.get("xdm_c"),
  });
  return iframe;
}

function frameOf(event) {
  const frame = frames.get(event.source);
  if (!frame || event.origin !== frame.origin) return null;
  if (!event.data || event.data.type !== "ap-request" || event.data.channel !== frame.channel) return null;
  return frame;
}

function reply(frame, id, result, error) {
  // A frame the call removed (a dialog that closed itself) has no one left to answer.
  const target = frame.iframe.contentWindow;
  if (target) target.postMessage({ type: "ap-response", channel: frame.channel, id, result, error }, frame.origin);
}

const methods = {
  async getToken() {
    const { token } = await bridgeCall("/bridge/token", { ...where(), app: config.app.key });
    return { token };
  },
  getContext() {
    const issue = config.issue;
    if (!issue) return { jira: { project: { key: config.project.key, id: config.project.id } } };
    return {
      jira: {
        issue: { key: issue.key, id: issue.id, issuetype: { id: issue.typeId } },
        project: { key: issue.projectKey, id: issue.projectId },
      },
    };
  },
  getCurrentUser() {
    return { atlassianAccountId: config.user };
  },
  // AP.theming.initializeTheming(): the person's colour mode, for the app's <html>.
  "theming.initialize"() {
    return { colorMode: config.theme };
  },
  async request(args) {
    const url = String(args.url || "");
    if (!url.startsWith("/rest/") || url.includes("..")) {
      return { status: 400, statusText: "Bad Request", responseText: '{"errorMessages":["AP.request takes a product REST path"]}', contentType: "application/json" };
    }
    const headers = {};
    if (args.data !== undefined && args.data !== null) headers["Content-Type"] = args.contentType || "application/json";
    const response = await jiraFetch(url, { method: args.type || "GET", headers, body: args.data ?? undefined });
    return {
      status: response.status,
      statusText: response.statusText,
      responseText: await response.text(),
      contentType: response.headers.get("Content-Type"),
    };
  },
  resize(args, frame) {
    if (frame.iframe.classList.contains("fill")) return null;
    // A dialog grows with its content up to the window's height, as Jira's do.
    const limit = frame.module === "room-dialog" ? Math.floor(window.innerHeight * 0.9) : MAX_PANEL_HEIGHT;
    const height = Math.max(40, Math.min(limit, Number(args.height) || 0));
    frame.iframe.style.height = `${height}px`;
    return null;
  },
  sizeToParent(_args, frame) {
    frame.iframe.classList.add("fill");
    return null;
  },
  "dialog.create"(args) {
    openDialog(args.key || "room-dialog");
    return null;
  },
  "dialog.close"(_args, frame) {
    closeDialog(frame);
    return null;
  },
  "flag.create"(args) {
    showFlag(args);
    refreshFields();
    return null;
  },
};

window.addEventListener("message", async (event) => {
  const frame = frameOf(event);
  if (!frame) return;
  const { id, method, args } = event.data;
  const handler = methods[method];
  if (!handler) return reply(frame, id, undefined, { message: `AP.${method} is not supported` });
  try {
    reply(frame, id, await handler(args || {}, frame));
  } catch (error) {
    reply(frame, id, undefined, { message: String((error && error.message) || error) });
  }
});

// -- dialog and flags --------------------------------------------------------------------------

let dialog = null;

function openDialog(module) {
  closeDialog();
  const body = document.createElement("div");
  body.className = "dialog-body";
  const box = document.createElement("div");
  box.className = "dialog";
  box.setAttribute("role", "dialog");
  box.setAttribute("aria-modal", "true");
  box.setAttribute("aria-label", "Planning poker");
  box.append(body);
  const blanket = document.createElement("div");
  blanket.className = "blanket";
  blanket.append(box);
  blanket.addEventListener("click", (event) => {
    if (event.target === blanket) closeDialog();
  });
  document.body.append(blanket);
  dialog = { blanket, previous: document.activeElement };
  openModule(module, body).then((iframe) => iframe.focus());
}

function closeDialog() {
  if (!dialog) return;
  for (const [window_, frame] of frames) if (dialog.blanket.contains(frame.iframe)) frames.delete(window_);
  dialog.blanket.remove();
  if (dialog.previous && dialog.previous.focus) dialog.previous.focus();
  dialog = null;
}

document.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && dialog) closeDialog();
});

function showFlag({ type = "info", title = "", body = "" }) {
  const flag = document.createElement("div");
  flag.className = `flag ${type}`;
  flag.setAttribute("role", type === "error" ? "alert" : "status");
  const heading = document.createElement("strong");
  heading.textContent = title;
  const text = document.createElement("p");
  text.textContent = body;
  flag.append(heading, text);
  document.getElementById("flags").append(flag);
  setTimeout(() => flag.remove(), 8000);
}

// -- the issue's fields, kept fresh like Jira's issue view ----------------------------------------

async function refreshFields() {
  if (!config.issue) return;
  try {
    const response = await jiraFetch(`/rest/api/3/issue/${encodeURIComponent(config.issue.key)}?fields=${config.fields.join(",")}`);
    if (!response.ok) return;
    const issue = await response.json();
    for (const [id, value] of Object.entries(issue.fields || {})) {
      const cell = document.querySelector(`[data-field="${id}"]`);
      if (!cell) continue;
      let text = value === null || value === undefined ? "None" : typeof value === "object" ? value.value : String(value);
      if (typeof value === "number" && Number.isInteger(value)) text = String(value);
      if (cell.textContent !== text) {
        cell.textContent = text;
        cell.classList.add("changed");
        setTimeout(() => cell.classList.remove("changed"), 1500);
      }
    }
  } catch {
    // The next refresh tries again.
  }
}

// -- the page ------------------------------------------------------------------------------------

function setUpSwitcher() {
  const select = document.getElementById("user-switcher");
  const link = document.querySelector("[data-testid=other-window]");
  const withUser = (account) => {
    const url = new URL(window.location.href);
    url.searchParams.set("user", account);
    return url.toString();
  };
  select.addEventListener("change", () => {
    window.location.href = withUser(select.value);
  });
  const theme = document.getElementById("theme-switcher");
  theme.value = config.theme;
  theme.addEventListener("change", () => {
    const url = new URL(window.location.href);
    url.searchParams.set("theme", theme.value);
    window.location.href = url.toString();
  });
  const others = [...select.options].map((o) => o.value).filter((v) => v !== config.user);
  if (others.length) link.href = withUser(others[0]);
  else link.hidden = true;
}

setUpSwitcher();
if (config.app) {
  const panel = document.getElementById("glance-panel") || document.getElementById("project-panel");
  if (panel) openModule(panel.dataset.module, panel);
  const button = document.getElementById("open-dialog");
  if (button) button.addEventListener("click", () => openDialog("room-dialog"));
}
setInterval(refreshFields, 3000);
