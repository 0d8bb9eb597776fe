// The host bridge: everything the room page asks of the product it runs inside.
//
// A host offers the same small surface whatever the platform:
//   appFetch(path, {method, body})  -> {status, body}   the app's own API, authenticated
//   socketUrl(path)                 -> ws(s) URL        the app's live socket endpoint
//   jira(path, {method, body})      -> {status, body}   Jira REST as the signed-in person
//   resize() / flag({type, title, body}) / openDialog() / closeDialog()
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
 * Forge (Custom UI with a remote backend), to come: `@forge/bridge` gives `requestJira`
 * for `jira`, `invokeRemote` for `appFetch` (the invocation token authenticates the
 * caller, `Authorization: Bearer`), `view.getContext()` for the issue, and
 * `router`/`Modal` for dialogs. The live socket opens with a ticket from `appFetch`.
 */
export function forgeHost() {
  throw new HostError("The Forge bridge is not part of this build yet.");
}

/** The host named by the page (`data-host`). */
export function hostFor(kind, globals = window) {
  if (kind === "forge") return forgeHost(globals);
  return connectHost(globals.AP);
}
