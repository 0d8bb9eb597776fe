// The app's REST API, as the room and session pages use it (everything else goes over the
// sockets).

/** An answer of the API that is not a success: its status, code and message. */
export class ApiError extends Error {
  constructor(status, code, message, details = []) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

function failure(status, body) {
  const error = (body && body.error) || {};
  if (status === 0) {
    return new ApiError(0, "offline", "The app cannot be reached. Check your connection.");
  }
  return new ApiError(
    status,
    error.code || "error",
    error.message || `The app answered ${status}.`,
    Array.isArray(error.details) ? error.details : [],
  );
}

function caller(host) {
  return async function call(path, options) {
    let answer;
    try {
      answer = await host.appFetch(path, options);
    } catch (error) {
      if (error && error.name === "HostError") throw error;
      answer = { status: 0, body: null };
    }
    if (answer.status >= 200 && answer.status < 300) return answer.body;
    throw failure(answer.status, answer.body);
  };
}

const q = encodeURIComponent;

/** The refinement-session routes: only keys, ids and settings go to the server. */
export function sessionApi(host) {
  const call = caller(host);
  const base = (id) => `/api/sessions/${q(id)}`;
  return {
    async list(projectKey) {
      return (await call(`/api/sessions?projectKey=${q(projectKey)}`)).sessions;
    },
    create(body) {
      return call("/api/sessions", { method: "POST", body });
    },
    get(id) {
      return call(base(id));
    },
    /** An owner's step: `issues`, `move`, `current`, `next`, `skip`, `review`, `finish`,
     * `accept-unanimous` (which answers `{accepted, failed, session}`). */
    step(id, name, body) {
      return call(`${base(id)}/${name}`, { method: "POST", body: body === undefined ? {} : body });
    },
    removeIssue(id, issueKey) {
      return call(`${base(id)}/issues/${q(issueKey)}`, { method: "DELETE" });
    },
    remove(id) {
      return call(base(id), { method: "DELETE" });
    },
    async ticket(id) {
      return (await call(`${base(id)}/ticket`, { method: "POST", body: {} })).ticket;
    },
    /** The session's record: keys and numbers per issue, and the totals. */
    summary(id) {
      return call(`${base(id)}/summary`);
    },
  };
}

export function roomApi(host) {
  const call = caller(host);
  return {
    /** The caller's view of the issue's room, or null when none was opened. */
    async findRoom(issueKey) {
      // 204 (no body) when nobody opened a room for the issue yet.
      return (await call(`/api/rooms?issueKey=${q(issueKey)}`)) || null;
    },
    async defaults(issueKey, issueTypeId) {
      if (!issueTypeId) return null;
      const body = await call(`/api/defaults?issueKey=${q(issueKey)}&issueTypeId=${q(issueTypeId)}`);
      return body ? body.defaults : null;
    },
    createRoom(settings) {
      return call("/api/rooms", { method: "POST", body: settings });
    },
    configure(roomId, settings) {
      return call(`/api/rooms/${q(roomId)}`, { method: "PATCH", body: settings });
    },
    remove(roomId) {
      return call(`/api/rooms/${q(roomId)}`, { method: "DELETE" });
    },
    /** A ticket for the room's socket, and the server's clock when it was issued. */
    async ticket(roomId) {
      const body = await call(`/api/rooms/${q(roomId)}/ticket`, { method: "POST", body: {} });
      return { ticket: body.ticket, now: body.now };
    },
  };
}
