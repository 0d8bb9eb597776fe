// The room's live socket: views in, commands out, and nothing lost on a flaky network.
//
// The server sends the whole view on connect and on `sync`, and after each change only
// what changed since a version (`patch`): applied to the view at exactly that version,
// else the page asks for the whole view again.
//
// Every command waits in a queue until the server acknowledges it. When the socket drops,
// the page reconnects with backoff (a fresh ticket each time), asks for the current view
// (`sync` with the last version it saw), drops the queued commands that view shows as
// already done and sends the rest in order. Every command names its intent (hold this
// card, no card, reveal round 3, end round 3), so one that did arrive before its answer
// was lost changes nothing the second time. A command that stays unacknowledged too long
// means a dead connection: the socket is closed and reopened.

const BACKOFF_FIRST_MS = 500;
// At most 8 s between tries (4-8 s with jitter): a page is back within 10 s of the server.
const BACKOFF_MAX_MS = 8000;
const ACK_TIMEOUT_MS = 8000;
const WATCH_EVERY_MS = 1000;
const CLOSE_REMOVED = 4404;
const CLOSE_REFUSED = 4403;
// Closes that answer something this page sent (unsupported, malformed or too big): the
// messages in flight are not sent again, or the page would loop close-and-retry forever.
const CLOSE_REFUSING_MESSAGE = new Set([1003, 1007, 1008, 1009]);
/** The server's frame limit (`max_socket_message_bytes`, 8 KiB by default). */
export const MAX_MESSAGE_BYTES = 8192;

function me(view) {
  return view.participants.find((p) => p.accountId === view.you) || null;
}

/** Whether `view` shows that the command already took effect (so it must not be resent). */
const ALREADY_DONE = {
  vote: (view, args) => (me(view) || {}).card === args.card,
  withdraw: (view) => !me(view) || me(view).card === null,
  join: (view, args) => (me(view) || {}).role === args.role,
  leave: (view) => !me(view),
  reveal: (view, args) => view.round !== args.round || view.state !== "voting",
  reset: (view, args) => view.round > args.round,
  "take-control": (view) => view.owner === view.you,
  estimate: (view, args, round) =>
    Boolean(
      view.estimate &&
        view.estimate.round === round &&
        view.estimate.written &&
        String(view.estimate.value) === String(args.value),
    ),
};

/** The view `view` with a patch's changes applied (see the module comment). */
export function applyChanges(view, changes) {
  const next = { ...view, ...changes };
  const people = changes.participants;
  if (people && !Array.isArray(people)) {
    next.participants = view.participants.map((p) =>
      people[p.accountId] ? { ...p, ...people[p.accountId] } : p,
    );
  }
  return next;
}

/** A command the server refused, with its answer. */
export class CommandError extends Error {
  constructor(op, error) {
    super(error.message || "The command was refused.");
    this.op = op;
    this.status = error.status;
    this.code = error.code;
  }
}

export class LiveRoom {
  /**
   * @param {object} options
   *   api, host, roomId, firstTicket (optional `{ticket, now}`, used once); onView(view), onStatus(status),
   *   onRemoved(), onFailure(message), onQueue() - when the unacknowledged commands change.
   */
  constructor(options) {
    Object.assign(this, options);
    this.queue = [];
    this.version = 0;
    this.view = null;
    this.socket = null;
    this.synced = false;
    this.attempts = 0;
    this.retryTimer = null;
    this.stopped = false;
    this.counter = 0;
    this.clockOffset = 0;
    this.status = "connecting";
    this.onOnline = () => this.reconnectNow();
  }

  start(view) {
    if (view) this.accept(view);
    window.addEventListener("online", this.onOnline);
    this.watch = setInterval(() => this.checkAcks(), WATCH_EVERY_MS);
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearInterval(this.watch);
    clearTimeout(this.retryTimer);
    window.removeEventListener("online", this.onOnline);
    if (this.socket) this.socket.close(1000, "bye");
    for (const entry of this.queue.splice(0)) entry.resolve(undefined);
  }

  /** The server's clock now, in milliseconds since the epoch (as far as this page can tell). */
  serverNow() {
    return Date.now() + this.clockOffset;
  }

  /** The commands not yet acknowledged, oldest first: `{op, args}`. */
  get pending() {
    return this.queue.map(({ op, args }) => ({ op, args }));
  }

  /**
   * Queue a command; resolves on ack, rejects with CommandError on refusal. Vote and
   * withdraw replace an earlier vote or withdraw that has not gone out yet.
   */
  send(op, args = {}) {
    if (op === "vote" || op === "withdraw") {
      for (const entry of this.queue.filter((e) => !e.sent && (e.op === "vote" || e.op === "withdraw"))) {
        this.queue.splice(this.queue.indexOf(entry), 1);
        entry.resolve(undefined);
      }
    }
    return new Promise((resolve, reject) => {
      const id = `c${++this.counter}-${Math.random().toString(36).slice(2, 8)}`;
      if (new TextEncoder().encode(JSON.stringify({ op, id, ...args })).length > MAX_MESSAGE_BYTES) {
        reject(new CommandError(op, { status: 413, code: "too_large", message: "This is too long for the app to take." }));
        return;
      }
      const round = this.view ? this.view.round : 0;
      this.queue.push({ id, op, args, round, sent: false, sentAt: 0, resolve, reject });
      this.changed();
      this.flush();
    });
  }

  // -- connection ------------------------------------------------------------------------

  setStatus(status, detail) {
    this.status = status;
    this.onStatus(status, detail);
  }

  async connect() {
    if (this.stopped) return;
    this.synced = false;
    this.resyncing = false;
    this.setStatus(this.attempts ? "reconnecting" : "connecting");
    let issued = this.firstTicket;
    this.firstTicket = null;
    let ticket;
    try {
      const asked = Date.now();
      issued = issued || (await this.api.ticket(this.roomId));
      // The server's clock against this browser's: the round's timer counts down to the
      // server's deadline, whatever this machine's clock says.
      const seen = Date.parse(issued.now);
      if (Number.isFinite(seen)) this.clockOffset = seen - (asked + Date.now()) / 2;
      ticket = issued.ticket;
    } catch (error) {
      if (error.status === 404) return this.removed();
      if (error.status === 403) return this.fail(error.message);
      return this.retry();
    }
    if (this.stopped) return;
    const url = this.host.socketUrl(`/api/rooms/${encodeURIComponent(this.roomId)}/live?ticket=${encodeURIComponent(ticket)}`);
    let socket;
    try {
      socket = new WebSocket(url);
    } catch {
      return this.retry();
    }
    this.socket = socket;
    socket.onopen = () => this.resync();
    socket.onmessage = (event) => this.receive(event.data);
    socket.onclose = (event) => this.closed(socket, event.code);
    socket.onerror = () => {};
  }

  closed(socket, code) {
    if (socket !== this.socket) return;
    this.socket = null;
    this.synced = false;
    if (CLOSE_REFUSING_MESSAGE.has(code)) {
      const refused = this.queue.filter((entry) => entry.sent);
      this.queue = this.queue.filter((entry) => !entry.sent);
      for (const entry of refused) {
        entry.reject(new CommandError(entry.op, { status: 422, code: "refused_message", message: "The app refused this message and closed the connection, so it was not saved." }));
      }
      if (refused.length) this.changed();
    }
    for (const entry of this.queue) entry.sent = false;
    if (this.stopped) return;
    if (code === CLOSE_REMOVED) return this.removed();
    if (code === CLOSE_REFUSED) return this.fail("This Jira site may not use the room right now.");
    this.retry();
  }

  retry() {
    if (this.stopped) return;
    const base = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** this.attempts);
    const delay = Math.round(base * (0.5 + Math.random() / 2));
    this.attempts += 1;
    this.setStatus("reconnecting", { retryAt: Date.now() + delay });
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  reconnectNow() {
    if (this.stopped || this.socket) return;
    clearTimeout(this.retryTimer);
    this.connect();
  }

  removed() {
    this.stop();
    this.setStatus("closed");
    this.onRemoved();
  }

  fail(message) {
    this.stop();
    this.setStatus("closed");
    this.onFailure(message);
  }

  checkAcks() {
    const now = Date.now();
    if (this.socket && this.queue.some((e) => e.sent && now - e.sentAt > ACK_TIMEOUT_MS)) {
      // No answer in time: the connection is dead even if the browser has not noticed.
      const socket = this.socket;
      this.closed(socket, 1006);
      socket.close();
    }
  }

  // -- messages --------------------------------------------------------------------------

  transmit(message) {
    if (!this.socket || this.socket.readyState !== WebSocket.OPEN) return false;
    this.socket.send(JSON.stringify(message));
    return true;
  }

  receive(text) {
    let message;
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    if (message.type === "room" || message.type === "patch") {
      if ("ack" in message) this.settle(message.ack, null);
      if (message.type === "patch") {
        if (!this.view || message.from !== this.version) {
          // A change to a view this page does not have: ask for the whole view.
          if (message.room.version > this.version && !this.resyncing) this.resync();
          return;
        }
        this.accept(applyChanges(this.view, message.room));
      } else {
        this.resyncing = false;
        this.accept(message.room);
      }
      if (!this.synced) {
        this.synced = true;
        this.attempts = 0;
        this.setStatus("live");
        this.reconcile();
      }
      this.flush();
    } else if (message.type === "ack") {
      this.settle(message.id, null);
    } else if (message.type === "error") {
      this.settle(message.id, message.error || {});
    } else if (message.type === "removed") {
      this.removed();
    }
  }

  resync() {
    this.resyncing = true;
    this.transmit({ op: "sync", version: this.version, id: `sync-${++this.counter}` });
  }

  accept(view) {
    if (view.version < this.version) return;
    this.version = view.version;
    this.view = view;
    this.onView(view);
  }

  settle(id, error) {
    const index = this.queue.findIndex((e) => e.id === id);
    if (index < 0) return;
    const [entry] = this.queue.splice(index, 1);
    if (error) {
      entry.reject(new CommandError(entry.op, error));
      this.changed();
    } else {
      // The view that shows the change follows the ack; rendering waits for it.
      entry.resolve(undefined);
    }
  }

  reconcile() {
    for (const entry of [...this.queue]) {
      const done = ALREADY_DONE[entry.op];
      if (done && done(this.view, entry.args, entry.round)) {
        this.queue.splice(this.queue.indexOf(entry), 1);
        entry.resolve(undefined);
      }
    }
    this.changed();
  }

  flush() {
    if (!this.synced) return;
    for (const entry of this.queue) {
      if (entry.sent) continue;
      if (!this.transmit({ op: entry.op, id: entry.id, ...entry.args })) return;
      entry.sent = true;
      entry.sentAt = Date.now();
    }
  }

  changed() {
    if (this.onQueue) this.onQueue();
  }
}
