// The host bridge: everything the room page asks of the product it runs inside.
//
// A host offers the same small surface whatever the platform:
//   appFetch(path, {method, body})  -> {status, body}   the app's own API, authenticated
//   socketUrl(path)                 -> ws(s) URL        the app's live socket endpoint
//   jira(path, {method, body})      -> {status, body}   Jira REST as the signed-in person
//   resize() / flag({type, title, body}) / openDialog() / closeDialog()
//   theme()                                             follow Jira's light or dark theme
// Names, avatars and e-mails come through `jira` and stay in the browser: the app's
// server is only ever sent account ids.

const TOKEN_MARGIN_SECONDS = 60;

/** A failure of the host itself (no bridge, the bridge refused). */
export class HostError extends Error {
  constructor(message) {
    super(message);
    this.name = "HostError";
  }
}

function tokenExpiry(token) {
  try {
    const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const claims = JSON.parse(atob(payload + "=".repeat((4 - (payload.length % 4)) % 4)));
    return typeof claims.exp === "number" ? claims.exp : 0;
  } catch {
    return 0;
  }
}

function parse(text) {
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** Atlassian Connect: `AP` from all.js; the API takes `Authorization: JWT <context token>`. */
export function connectHost(AP, location = window.location) {
  if (!AP || !AP.context || typeof AP.request !== "function") {
    throw new HostError("The Jira bridge (all.js) did not load, so the room cannot open.");
  }
  let cached = null;
  let pending = null;

  function freshToken() {
    const now = Date.now() / 1000;
    if (cached && cached.exp - TOKEN_MARGIN_SECONDS > now) return Promise.resolve(cached.token);
    if (!pending) {
      pending = new Promise((resolve, reject) => {
        AP.context.getToken((token) => {
          pending = null;
          if (typeof token !== "string" || !token) {
            reject(new HostError("Jira did not give the page a token; reload the issue."));
            return;
          }
          cached = { token, exp: tokenExpiry(token) };
          resolve(token);
        });
      });
    }
    return pending;
  }

  async function appFetch(path, { method = "GET", body } = {}) {
    const headers = { Authorization: `JWT ${await freshToken()}`, Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit",
      cache: "no-store",
    });
    if (response.status === 401) cached = null;
    return { status: response.status, body: parse(await response.text()) };
  }

  function jira(path, { method = "GET", body } = {}) {
    return new Promise((resolve) => {
      const pending = AP.request({
        url: path,
        type: method,
        contentType: "application/json",
        data: body === undefined ? undefined : JSON.stringify(body),
        success: (text, _status, xhr) => resolve({ status: xhr ? xhr.status : 200, body: parse(text) }),
        error: (xhr) => resolve({ status: xhr ? xhr.status : 0, body: parse(xhr && xhr.responseText) }),
      });
      // Newer bridges also return a promise; the callbacks above already answered.
      if (pending && typeof pending.catch === "function") pending.catch(() => {});
    });
  }

  return {
    kind: "connect",
    appFetch,
    jira,
    socketUrl(path) {
      return `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}${path}`;
    },
    resize() {
      if (typeof AP.resize === "function") AP.resize();
    },
    flag({ type = "info", title, body = "" }) {
      if (AP.flag && typeof AP.flag.create === "function") {
        AP.flag.create({ type, title, body, close: "auto" });
      }
    },
    // Jira's light or dark theme: Connect sets data-color-mode on <html>.
    theme() {
      if (AP.theming && typeof AP.theming.initializeTheming === "function") {
        Promise.resolve(AP.theming.initializeTheming()).catch(() => {});
      }
    },
    canOpenDialog: Boolean(AP.dialog && typeof AP.dialog.create === "function"),
    openDialog() {
      AP.dialog.create({ key: "room-dialog", chrome: false, size: "large" });
    },
    closeDialog() {
      if (AP.dialog && typeof AP.dialog.close === "function") AP.dialog.close();
    },
  };
}

/**
 * Forge (Custom UI with a remote backend). `forge` is what the Forge page's boot script
 * (forge/src/boot.js) hands over: `bridge`, the `@forge/bridge` module; `remote`, the
 * remote's base URL, where the live socket connects; and `page`, the issue from
 * `forgePage`. The API goes through `invokeRemote` with the same paths and bodies as
 * Connect: Forge adds the invocation token (`Authorization: Bearer`) and the OAuth
 * tokens, and proxies the call, so the remote needs no CORS. Jira is called as the
 * person through `requestJira`.
 */
export function forgeHost(forge) {
  const bridge = forge && forge.bridge;
  if (!bridge || typeof bridge.invokeRemote !== "function" || typeof bridge.requestJira !== "function") {
    throw new HostError("The Forge bridge did not load, so the room cannot open.");
  }
  let remote;
  try {
    remote = new URL(forge.remote);
  } catch {
    throw new HostError("This build of the app does not say where the app runs, so the room cannot open.");
  }
  let flags = 0;

  async function appFetch(path, { method = "GET", body } = {}) {
    const answer = await bridge.invokeRemote(body === undefined ? { path, method } : { path, method, body });
    if (!answer || typeof answer.status !== "number") {
      throw new HostError("The app's answer did not come through Jira; reload the issue.");
    }
    const result = { status: answer.status, body: typeof answer.body === "string" ? parse(answer.body) : (answer.body ?? null) };
    if (result.status === 200 && path.endsWith("/ticket")) followTicket(result.body);
    return result;
  }

  // Forge calls the deployment of the site's region; the ticket names it, and the live
  // socket must connect there, not to the default URL this build was made with.
  function followTicket(answer) {
    if (!answer || typeof answer.baseUrl !== "string") return;
    try {
      const named = new URL(answer.baseUrl);
      if (named.protocol === "https:" || named.protocol === remote.protocol) remote = named;
    } catch {
      // Not a URL: keep the build's.
    }
  }

  async function jira(path, { method = "GET", body } = {}) {
    const headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    try {
      const response = await bridge.requestJira(path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: response.status, body: parse(await response.text()) };
    } catch {
      return { status: 0, body: null };
    }
  }

  function flag({ type = "info", title, body = "" }) {
    if (typeof bridge.showFlag !== "function") return;
    flags += 1;
    bridge.showFlag({ id: `room-flag-${flags}`, type, title, description: body, isAutoDismiss: true });
  }

  return {
    kind: "forge",
    appFetch,
    jira,
    socketUrl(path) {
      const base = remote.pathname.replace(/\/$/, "");
      return `${remote.protocol === "https:" ? "wss:" : "ws:"}//${remote.host}${base}${path}`;
    },
    // Forge sizes a Custom UI frame to its content by itself.
    resize() {},
    flag,
    // Jira's light or dark theme: Forge sets data-color-mode on <html>.
    theme() {
      const theming = bridge.view && bridge.view.theme;
      if (theming && typeof theming.enable === "function") theming.enable().catch(() => {});
    },
    canOpenDialog: typeof bridge.Modal === "function",
    openDialog() {
      // The same page in a modal; its context tells the page to lay itself out as a dialog.
      const modal = new bridge.Modal({ size: "large", context: { ...forge.page, view: "dialog" } });
      modal.open().catch(() => flag({ type: "error", title: "The room could not open in a larger view." }));
    },
    closeDialog() {
      bridge.view.close().catch(() => {});
    },
  };
}

/**
 * The page's issue from the Forge context: `{issueKey, issueTypeId, projectKey, view}`.
 * In an issue panel it comes from the extension's issue and project; in the modal that
 * `openDialog` opens, from the context the panel passed along.
 */
export async function forgePage(bridge) {
  const context = await bridge.view.getContext();
  const extension = (context && context.extension) || {};
  const modal = extension.modal || null;
  const issue = extension.issue || {};
  const project = extension.project || {};
  const page = modal && modal.issueKey
    ? { issueKey: modal.issueKey, issueTypeId: modal.issueTypeId, projectKey: modal.projectKey }
    : { issueKey: issue.key, issueTypeId: issue.typeId, projectKey: project.key };
  if (typeof page.issueKey !== "string" || !page.issueKey) {
    throw new HostError("Jira did not say which issue this is; reload the issue.");
  }
  return {
    issueKey: page.issueKey,
    issueTypeId: /^[0-9]+$/.test(String(page.issueTypeId ?? "")) ? String(page.issueTypeId) : "",
    projectKey: typeof page.projectKey === "string" ? page.projectKey : "",
    view: modal && modal.view === "dialog" ? "dialog" : "glance",
  };
}

/** The host named by the page (`data-host`). */
export function hostFor(kind, globals = window) {
  if (kind === "forge") return forgeHost(globals.agiletoolboxForge);
  return connectHost(globals.AP);
}
