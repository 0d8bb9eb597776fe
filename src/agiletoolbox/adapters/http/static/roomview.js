// The room of one issue, as a component: finds or sets up the room, then plays it live.
// The issue's own page (room.js) and a session's page (sessions.js) mount it.

import { roomApi } from "./api.js";
import { configForm, formValues } from "./config.js";
import { estimateFields } from "./fields.js";
import { LiveRoom } from "./live.js";
import { People } from "./people.js";
import { MAX_ESTIMATE, clock, fieldName, roomContent } from "./render.js";
import { announce, confirmDialog, h, number, sentence } from "./ui.js";

const WATCH_FOR_ROOM_MS = 4000;
// A second click on the same card this soon after the first, while the first is unanswered,
// is a double click (the first click's intent stands); later, offline, it is a new intent.
const DOUBLE_CLICK_MS = 600;
const RETRYABLE = new Set(["jira_unavailable", "jira_error", "estimate_not_confirmed", "unavailable", "concurrent_change"]);
/** Refusals that come from Jira; every other refusal of an estimate is the app's own check. */
const FROM_JIRA = new Set(["jira_error", "jira_unavailable", "jira_access_denied", "jira_issue_not_found", "field_not_on_screen", "estimate_not_confirmed"]);

/**
 * The room of one issue, live, in `root`: cards, reveal, results, the estimate written to
 * Jira. `options`: `host` (host.js), `issueKey`, `issueTypeId`, `pageView` ("glance",
 * "dialog" or "session"), and optionally `api`, `people` (shared with the page), `first`
 * (`{room, ticket, now}`: the view the page came with), `embedded` (a session's room: no
 * set-up form, no removal), `hiddenVotes` (an async session's room before its review: no
 * reveal or new round offered), `autoJoin` (a role to join in), `onView(view)` (told of
 * every view shown).
 * Returns `{unmount()}`, which stops its socket and removes its listeners.
 */
export function mountRoom(root, options) {
  const page = {
    issueKey: options.issueKey,
    issueTypeId: options.issueTypeId || "",
    pageView: options.pageView || "glance",
  };

  const model = {
    pageView: page.pageView,
    view: null,
    status: "connecting",
    retryIn: 0,
    retryAt: 0,
    fieldsById: new Map(),
    fieldsLoaded: false,
    notice: null,
    menuOpen: false,
    myCard: undefined,
    voteSaving: false,
    estimateDraft: "",
    estimateRound: 0,
    estimateBusy: false,
    estimateFailure: null,
    lastPick: null,
    timeUpRound: 0,
    tenSecondsSaid: false,
    serverNow: () => (live ? live.serverNow() : Date.now()),
    openRounds: new Set(),
    canOpenDialog: false,
    mode: "loading",
  };

  const host = options.host;
  const api = options.api || roomApi(host);
  const people = options.people || new People(host, () => render());
  let live = null;
  let fields = { ok: false, fields: [], message: "" };
  const listeners = [];
  const intervals = [];
  /** `document` listeners of this room, removed when it is unmounted. */
  function listen(type, handler) {
    document.addEventListener(type, handler);
    listeners.push([document, type, handler]);
  }
  let watcher = null;
  let autoJoined = false;
  let countdown = null;
  let interactive = false;

  function markInteractive() {
    if (interactive) return;
    interactive = true;
    performance.mark("room-interactive");
    root.dataset.ready = "true";
  }

  function showScreen(...children) {
    root.replaceChildren(...children);
    host && host.resize();
  }

  function fatal(message) {
    model.mode = "failed";
    showScreen(h("div", { class: "message error", role: "alert" }, h("p", {}, h("strong", {}, "The room cannot open. "), message)));
  }

  // -- rendering -----------------------------------------------------------------------------

  function deriveVote() {
    const view = model.view;
    const me = view.participants.find((p) => p.accountId === view.you);
    let card = me ? me.card : undefined;
    let saving = false;
    for (const { op, args } of live ? live.pending : []) {
      if (op === "vote") card = args.card;
      if (op === "withdraw") card = null;
      if (op === "vote" || op === "withdraw") saving = true;
    }
    model.myCard = me && me.role === "voter" ? (card ?? null) : undefined;
    model.voteSaving = saving;
    model.pendingOps = new Set(live ? live.pending.map(({ op }) => op) : []);
  }

  // The countdown ticks on its own, without rebuilding the room.
  intervals.push(setInterval(() => {
    const view = model.mode === "room" ? model.view : null;
    if (!view || !view.timer || view.state !== "voting") return;
    const left = Date.parse(view.timer.endsAt) - model.serverNow();
    const shown = root.querySelector("[data-testid=timer] .timer-left");
    if (shown) shown.textContent = clock(left);
    if (left <= 0 && model.timeUpRound !== view.round) {
      model.timeUpRound = view.round;
      announce(view.revealOnTimer ? "Time is up. The cards turn over." : "Time is up.");
    }
    if (left <= 10000 && left > 9000 && !model.tenSecondsSaid) {
      model.tenSecondsSaid = true;
      announce("10 seconds left.");
    }
  }, 250));

  function render() {
    if (model.mode !== "room" || !model.view) return;
    deriveVote();
    people.want([...model.view.participants.map((p) => p.accountId), model.view.owner, ...model.view.history.flatMap((r) => r.votes.map((v) => v.accountId))]);
    const focused = document.activeElement && root.contains(document.activeElement) ? document.activeElement.dataset.key : null;
    root.replaceChildren(roomContent(model, actions));
    if (focused) {
      const again = root.querySelector(`[data-key="${CSS.escape(focused)}"]`);
      if (again && !again.disabled) again.focus();
    }
    host.resize();
    markInteractive();
  }

  function notify(kind, text) {
    model.notice = { kind, text };
    announce(text);
    render();
  }

  function describe(previous, view) {
    if (!previous) return;
    const name = (id) => people.name(id);
    if (previous.round !== view.round) announce(`Round ${view.round} started. Pick a card.`);
    else if (previous.state === "voting" && view.state !== "voting" && view.results) {
      const r = view.results;
      announce(`Cards revealed. ${r.modes.length ? `Mode ${r.modes.join(" and ")}, ` : ""}agreement ${Math.round(r.agreement * 100)} percent.`);
    }
    if (previous.owner !== view.owner && view.owner) announce(view.owner === view.you ? "You run the room now." : `${name(view.owner)} runs the room now.`);
    if (previous.owner === view.you && view.owner !== view.you && view.owner) {
      // Control passed while this person was away: tell them, on screen, not just in passing.
      model.notice = { kind: "info", text: `${name(view.owner)} took control of the room while you were away and runs it now. You can still vote.` };
    }
    const before = new Set(previous.participants.map((p) => p.accountId));
    for (const p of view.participants) if (!before.has(p.accountId) && p.accountId !== view.you) announce(`${name(p.accountId)} joined.`);
    if (view.timer && (!previous.timer || previous.timer.endsAt !== view.timer.endsAt)) {
      announce(`Timer: ${clock(Date.parse(view.timer.endsAt) - model.serverNow())} left to vote.`);
    } else if (previous.timer && !view.timer && view.state === "voting" && model.timeUpRound !== view.round) {
      announce("The timer was stopped.");
    }
    const tally = (v) => {
      const voters = v.participants.filter((p) => p.role === "voter");
      return `${voters.filter((p) => p.voted).length} of ${voters.length} voted`;
    };
    if (view.state === "voting" && previous.round === view.round && tally(previous) !== tally(view)) announce(`${tally(view)}.`);
  }

  /** After a reveal or a new round the control that had focus is gone: put focus where the
   * person goes next (the results; the deck), never back to the top of the page. */
  function moveFocus(previous, view) {
    if (!previous || (document.activeElement && document.activeElement !== document.body && root.contains(document.activeElement))) return;
    if (previous.state === "voting" && view.state !== "voting") root.querySelector("#results-title")?.focus();
    else if (previous.round !== view.round) (root.querySelector(".deck .card[aria-pressed=true]") || root.querySelector(".deck .card"))?.focus();
  }

  function onView(view) {
    const previous = model.view;
    model.view = view;
    if (!previous || JSON.stringify(previous.timer) !== JSON.stringify(view.timer)) model.tenSecondsSaid = false;
    // A refusal belongs to the moment it answered: a new round or state makes it stale.
    if (previous && model.notice && model.notice.kind === "error" && (previous.round !== view.round || previous.state !== view.state)) {
      model.notice = null;
    }
    // Freshly revealed: offer the closest card (numeric decks) or the mode as the estimate.
    if (view.state !== "voting" && (!previous || previous.state === "voting" || model.estimateRound !== view.round)) {
      const r = view.results;
      const accepted = view.estimate && view.estimate.round === view.round ? view.estimate.value : null;
      model.estimateDraft = accepted || (r && r.suggestion ? r.suggestion.card : "");
      model.estimateRound = view.round;
      model.estimateFailure = null;
    }
    if (view.state === "voting") model.estimateFailure = null;
    describe(previous, view);
    render();
    moveFocus(previous, view);
    // In a session, someone who took part in the last issue's room joins the next one as
    // they were (voter or observer), once; leaving afterwards is theirs to do.
    if (options.autoJoin && !autoJoined && !view.participants.some((p) => p.accountId === view.you)) {
      autoJoined = true;
      command("join", { role: options.autoJoin }).catch(quiet);
    }
    if (options.onView) options.onView(view);
  }

  function onStatus(status, detail) {
    model.status = status;
    if (status === "live" && !performance.getEntriesByName("room-live").length) performance.mark("room-live");
    clearInterval(countdown);
    model.retryIn = 0;
    if (status === "reconnecting" && detail && detail.retryAt) {
      model.retryAt = detail.retryAt;
      const tick = () => {
        model.retryIn = Math.max(0, Math.ceil((model.retryAt - Date.now()) / 1000));
        const element = root.querySelector("[data-testid=connection]");
        if (element) element.lastChild.textContent = model.retryIn > 0 ? `Reconnecting in ${model.retryIn} s…` : "Reconnecting…";
      };
      tick();
      countdown = setInterval(tick, 1000);
    }
    render();
  }

  // -- actions ---------------------------------------------------------------------------------

  const NOT_SAVED = {
    "timer-start": () => "The timer did not start",
    "timer-extend": () => "The timer was not extended",
    "timer-stop": () => "The timer did not stop",
    vote: (args) => `Your vote (${args.card}) was not saved`,
    withdraw: () => "Taking back your vote was not saved",
    join: () => "Joining was not saved",
    leave: () => "Leaving was not saved",
    reveal: () => "The cards were not revealed",
    reset: () => "No new round was started",
    "take-control": () => "You did not take control",
  };

  function command(op, args = {}) {
    return live.send(op, args).catch((error) => {
      // Say what did not happen, and why, in words: "Your vote (8) was not saved: ...".
      const what = NOT_SAVED[op] ? NOT_SAVED[op](args) : "That was not saved";
      notify("error", `${what}: ${sentence(error.message).replace(/^./, (c) => c.toLowerCase())}`);
      throw error;
    });
  }

  // Leaving the page with commands the server has not answered would drop them unseen.
  const beforeUnload = (event) => {
    if (live && live.pending.length) {
      event.preventDefault();
      event.returnValue = "";
    }
  };
  window.addEventListener("beforeunload", beforeUnload);
  listeners.push([window, "beforeunload", beforeUnload]);

  const quiet = () => {};

  /** Whether a command of one of `ops` is sent or queued and not answered yet. */
  function awaiting(...ops) {
    return Boolean(live && live.pending.some(({ op }) => ops.includes(op)));
  }

  const actions = {
    pick(label) {
      const last = model.lastPick;
      const now = Date.now();
      if (last && last.label === label && awaiting("vote", "withdraw") && (model.status === "live" || now - last.at < DOUBLE_CLICK_MS)) {
        return; // a double click: the first click's intent stands
      }
      model.lastPick = { label, at: now };
      // Each command says what it wants (this card; no card), so a resend changes nothing.
      const current = model.myCard;
      (current === label ? command("withdraw") : command("vote", { card: label })).catch(quiet);
      announce(current === label ? `You took back ${label}.` : `You picked ${label}.`);
    },
    deckKeys(event) {
      const keys = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 };
      if (!(event.key in keys)) return;
      const cards = [...root.querySelectorAll(".deck .card")];
      const at = cards.indexOf(event.currentTarget);
      const next = cards[(at + keys[event.key] + cards.length) % cards.length];
      if (next) {
        event.preventDefault();
        next.focus();
      }
    },
    join(role) {
      command("join", { role }).then(() => announce(role === "voter" ? "You joined as a voter." : "You are observing."), quiet);
    },
    leave() {
      model.menuOpen = false;
      command("leave").then(() => announce("You left the room."), quiet);
    },
    reveal() {
      if (awaiting("reveal", "reset")) return;
      command("reveal", { round: model.view.round }).catch(quiet);
      render();
    },
    async reset() {
      if (awaiting("reveal", "reset")) return;
      const view = model.view;
      if (view.state === "voting") {
        const votes = view.participants.filter((p) => p.voted).length;
        const confirmed = await confirmDialog({
          title: `Restart round ${view.round}?`,
          body: [
            h(
              "p",
              {},
              votes
                ? `The ${votes === 1 ? "vote" : `${votes} votes`} cast so far ${votes === 1 ? "is" : "are"} dropped unseen, and everyone votes again in round ${view.round + 1}.`
                : `Nobody has voted yet; everyone votes in round ${view.round + 1} instead.`,
            ),
          ],
          confirm: "Restart round",
        });
        if (!confirmed || model.view.round !== view.round) return;
      }
      command("reset", { round: view.round }).catch(quiet);
      render();
    },
    startTimer(seconds) {
      command("timer-start", { seconds }).catch(quiet);
      render();
    },
    startCustomTimer(event) {
      event.preventDefault();
      const minutes = Number(event.target.elements.minutes.value);
      if (!Number.isFinite(minutes) || minutes < 0.2 || minutes > 60) {
        notify("error", "Give the timer from 0.2 to 60 minutes.");
        return;
      }
      actions.startTimer(Math.max(10, Math.round(minutes * 60)));
    },
    extendTimer(seconds) {
      command("timer-extend", { seconds }).catch(quiet);
      render();
    },
    stopTimer() {
      command("timer-stop").catch(quiet);
      render();
    },
    takeControl() {
      command("take-control").catch(quiet);
    },
    reconnect() {
      live && live.reconnectNow();
    },
    dismiss() {
      model.notice = null;
      render();
    },
    toggleHelp() {
      model.helpOpen = !model.helpOpen;
      render();
      const target = root.querySelector(model.helpOpen ? "#shortcuts" : "[data-key=help]");
      if (target) target.focus();
    },
    toggleMenu() {
      model.menuOpen = !model.menuOpen;
      render();
      if (model.menuOpen) {
        const first = root.querySelector(".menu-item");
        if (first) first.focus();
      }
    },
    toggleRound(round, open) {
      if (open === model.openRounds.has(round)) return;
      if (open) model.openRounds.add(round);
      else model.openRounds.delete(round);
    },
    openDialog() {
      model.menuOpen = false;
      render();
      host.openDialog();
    },
    closeDialog() {
      host.closeDialog();
    },
    draftEstimate(event) {
      model.estimateDraft = event.target.value;
      model.estimateFailure = null;
      const button = root.querySelector("[data-key=write]");
      const view = model.view;
      const current = view.estimate && view.estimate.round === view.round && view.estimate.written ? view.estimate.value : null;
      const name = fieldName(model, view.fieldId);
      if (button) {
        const done = current !== null && current === model.estimateDraft.trim();
        button.disabled = !model.estimateDraft.trim() || done;
        button.textContent = done ? "Written" : `Write to ${name}`;
      }
    },
    writeEstimate(event) {
      if (event) event.preventDefault();
      const value = model.estimateDraft.trim();
      if (!value || model.estimateBusy) return;
      const view = model.view;
      const name = fieldName(model, view.fieldId);
      if (value.length > MAX_ESTIMATE) {
        model.estimateFailure = { fromJira: false, message: `An estimate has at most ${MAX_ESTIMATE} characters; this one has ${value.length}. Type a card or a number.`, code: "invalid_value", retry: false };
        render();
        root.querySelector("#estimate-value")?.focus();
        return;
      }
      model.estimateBusy = true;
      model.estimateFailure = null;
      render();
      live
        .send("estimate", { value })
        .then(() => {
          const field = model.fieldsById.get(view.fieldId);
          const mapped = field && field.kind === "number" ? view.valueMap[value] : undefined;
          const shown = mapped === undefined ? value : `${number(mapped)} (${value})`;
          announce(`${shown} is in ${name}.`);
          host.flag({ type: "success", title: "Estimate written", body: `${view.issueKey}: ${name} is now ${shown}.` });
        })
        .catch((error) => {
          // The app knows fields by id only; the person knows them by name.
          const message = sentence(name === view.fieldId ? error.message : error.message.split(view.fieldId).join(name));
          const fromJira = FROM_JIRA.has(error.code);
          model.estimateFailure = { fromJira, message, code: error.code, retry: RETRYABLE.has(error.code) || error.status === 503 };
          announce(`${fromJira ? "Jira did not take the estimate." : "The estimate was not written."} ${message}`);
        })
        .finally(() => {
          model.estimateBusy = false;
          render();
          const input = root.querySelector("#estimate-value");
          if (model.estimateFailure && input) input.focus();
        });
    },
    editSettings() {
      model.menuOpen = false;
      showSettings();
    },
    async remove() {
      model.menuOpen = false;
      render();
      const view = model.view;
      const rounds = view.round;
      const members = view.participants.length;
      const field = view.fieldId ? fieldName(model, view.fieldId) : null;
      const confirmed = await confirmDialog({
        title: `Remove the room of ${view.issueKey}?`,
        body: [
          h("p", {}, "This deletes at once, for everyone, and for good:"),
          h(
            "ul",
            {},
            h("li", {}, `the room and its settings (deck, rules${field ? `, the target field ${field}` : ""})`),
            h("li", {}, `its ${members} ${members === 1 ? "member" : "members"}`),
            h("li", {}, `every vote of ${rounds === 1 ? "its round" : `all ${rounds} rounds`}, and the round history`),
          ),
          h("p", {}, field ? `What was written to ${field} stays in Jira.` : "Nothing in Jira changes."),
        ],
        confirm: "Remove room",
        danger: true,
      });
      if (!confirmed) return;
      try {
        await api.remove(view.id);
        showRemoved(true);
      } catch (error) {
        if (error.status === 404) showRemoved(true);
        else notify("error", error.message);
      }
    },
  };

  listen("keydown", (event) => {
    if (event.key !== "Escape" || event.defaultPrevented) return;
    if (model.helpOpen) {
      actions.toggleHelp();
    } else if (model.menuOpen) {
      model.menuOpen = false;
      render();
      const button = root.querySelector("[data-key=menu]");
      if (button) button.focus();
    } else if (page.pageView === "dialog" && host) {
      // Keys typed in the dialog stay in its frame: Esc closes it from here, as Jira's do.
      event.preventDefault();
      host.closeDialog();
    }
  });
  // -- keyboard shortcuts ------------------------------------------------------------------------
  //
  // Typing a card's label picks it (digits and letters; "13" is typed 1 then 3, "½" as "h" or
  // ".5", "?" as "?"); Backspace takes your card back; the owner's R reveals and N starts a
  // new round. "?" opens the list of shortcuts when the deck has no "?" card (the "?" button
  // in the header always does). Keys typed into a field, or with Ctrl, Alt or Meta, are the
  // page's, not shortcuts.

  const TYPED_WITHIN_MS = 700;
  const ALIASES = { h: "½", ".5": "½", "0.5": "½", c: "☕", i: "∞", p: "Pass", x: "XS", xx: "XXL" };
  let typed = "";
  let typedAt = 0;
  let typedTimer = null;

  function shortcutTarget(event) {
    const element = event.target;
    if (event.ctrlKey || event.altKey || event.metaKey || event.defaultPrevented) return false;
    if (element && element.closest && element.closest("input, textarea, select, [contenteditable], .modal, .menu-list")) return false;
    return model.mode === "room" && model.view;
  }

  /** The deck's card the typed text names, exactly or by an alias; null when none. */
  function cardTyped(text) {
    const cards = model.view.deck.cards.map((c) => c.label);
    const lower = text.toLowerCase();
    const exact = cards.find((label) => label.toLowerCase() === lower);
    if (exact) return exact;
    const alias = ALIASES[lower];
    return alias && cards.includes(alias) ? alias : null;
  }

  /** Whether some card starts with the typed text (so the next key may complete it). */
  function cardStartsWith(text) {
    const lower = text.toLowerCase();
    return model.view.deck.cards.some((c) => c.label.toLowerCase().startsWith(lower) && c.label.toLowerCase() !== lower)
      || Object.keys(ALIASES).some((a) => a.startsWith(lower) && a !== lower);
  }

  function pickTyped() {
    clearTimeout(typedTimer);
    const label = cardTyped(typed);
    typed = "";
    if (!label || model.view.state !== "voting" || model.myCard === undefined) return;
    if (model.myCard !== label) actions.pick(label);
    root.querySelector(`.deck .card[data-card="${CSS.escape(label)}"]`)?.focus();
  }

  listen("keydown", (event) => {
    if (!shortcutTarget(event)) return;
    const view = model.view;
    const owner = view.owner === view.you;
    const key = event.key;
    if (key === "?" && !view.deck.cards.some((c) => c.label === "?")) {
      event.preventDefault();
      return actions.toggleHelp();
    }
    if (key === "Backspace" || key === "Delete") {
      if (model.myCard) {
        event.preventDefault();
        actions.pick(model.myCard);
      }
      return;
    }
    if (owner && !typed && (key === "r" || key === "R") && view.state === "voting") {
      event.preventDefault();
      return actions.reveal();
    }
    if (owner && !typed && (key === "n" || key === "N") && view.state !== "voting") {
      event.preventDefault();
      return actions.reset();
    }
    if (key.length !== 1 || key === " ") return;
    const now = Date.now();
    if (now - typedAt > TYPED_WITHIN_MS) typed = "";
    typedAt = now;
    const next = typed + key;
    if (!cardTyped(next) && !cardStartsWith(next)) {
      // Not a card's start: this key may start one on its own.
      typed = "";
      if (!cardTyped(key) && !cardStartsWith(key)) return;
      typed = key;
    } else {
      typed = next;
    }
    event.preventDefault();
    clearTimeout(typedTimer);
    // A label others extend ("1" of "13") waits a moment for the next key.
    if (cardTyped(typed) && !cardStartsWith(typed)) pickTyped();
    else typedTimer = setTimeout(pickTyped, TYPED_WITHIN_MS);
  });

  listen("click", (event) => {
    if (model.menuOpen && !event.target.closest(".menu")) {
      model.menuOpen = false;
      render();
    }
  });

  // -- screens ---------------------------------------------------------------------------------

  function enterRoom(view, notice, firstTicket = null) {
    clearInterval(watcher);
    model.mode = "room";
    model.notice = notice ? { kind: "info", text: notice } : null;
    if (live) live.stop();
    model.view = null;
    live = new LiveRoom({
      api,
      host,
      roomId: view.id,
      firstTicket,
      onView,
      onStatus,
      onRemoved: () => showRemoved(false),
      onFailure: (message) => fatal(message),
      onQueue: render,
    });
    live.start(view);
  }

  function showRemoved(byMe) {
    if (live) live.stop();
    live = null;
    model.mode = "removed";
    model.view = null;
    const text = byMe ? `The room of ${page.issueKey} and everything in it were removed.` : `The owner removed the room of ${page.issueKey}.`;
    announce(text);
    const again = h("button", { type: "button", class: "button primary", onclick: () => showCreate() }, "Set up a new room");
    showScreen(h("div", { class: "empty" }, h("h2", { class: "section-title" }, "Room removed"), h("p", { role: "status" }, text), again));
    again.focus();
  }

  async function showCreate(defaults) {
    model.mode = "create";
    if (defaults === undefined) {
      try {
        defaults = await api.defaults(page.issueKey, page.issueTypeId);
      } catch {
        defaults = null;
      }
    }
    const form = configForm({
      mode: "create",
      issueKey: page.issueKey,
      values: formValues(defaults),
      fields,
      defaultsLoaded: Boolean(defaults),
      onSubmit: async (settings) => {
        const body = { issueKey: page.issueKey, ...settings };
        if (settings.saveAsDefault) body.issueTypeId = page.issueTypeId;
        try {
          const view = await api.createRoom(body);
          enterRoom(view, settings.saveAsDefault ? "The room is open, and these settings are your default now." : null);
          announce("The room is open. Pick a card.");
        } catch (error) {
          if (error.status === 409) {
            const view = await api.findRoom(page.issueKey);
            if (view) return enterRoom(view, "A teammate opened this room first; you are in it now.");
          }
          throw error;
        }
      },
    });
    showScreen(form);
    markInteractive();
    clearInterval(watcher);
    // Someone else may open the room meanwhile: join theirs rather than race them.
    watcher = setInterval(async () => {
      if (model.mode !== "create") return clearInterval(watcher);
      try {
        const view = await api.findRoom(page.issueKey);
        if (view && model.mode === "create") enterRoom(view, "A teammate opened this room while you were setting it up.");
      } catch {
        // Try again on the next tick.
      }
    }, WATCH_FOR_ROOM_MS);
  }

  function showSettings() {
    model.mode = "settings";
    const view = model.view;
    const form = configForm({
      mode: "edit",
      issueKey: page.issueKey,
      values: formValues(view),
      fields,
      defaultsLoaded: false,
      onSubmit: async (settings) => {
        const updated = await api.configure(view.id, settings);
        model.mode = "room";
        live.accept(updated);
        notify("info", "Settings saved.");
        root.querySelector("[data-key=menu]")?.focus();
      },
      onCancel: () => {
        model.mode = "room";
        render();
        root.querySelector("[data-key=menu]")?.focus();
      },
    });
    showScreen(form);
    form.querySelector("input, select")?.focus();
  }


  // -- mounting ----------------------------------------------------------------------------------

  function unmount() {
    clearInterval(watcher);
    clearInterval(countdown);
    for (const id of intervals) clearInterval(id);
    for (const [target, type, handler] of listeners) target.removeEventListener(type, handler);
    if (live) live.stop();
    live = null;
    model.mode = "unmounted";
  }

  async function begin() {
    host.theme();
    model.canOpenDialog = page.pageView !== "dialog" && host.canOpenDialog && !options.embedded;
    model.people = people;
    model.embedded = Boolean(options.embedded);
    model.hiddenVotes = Boolean(options.hiddenVotes);
    const loadingFields = estimateFields(host, page.issueKey).then((found) => {
      fields = found;
      model.fieldsById = new Map(found.fields.map((f) => [f.id, f]));
      model.fieldsLoaded = found.ok;
      return found;
    });
    if (options.first) {
      // The page came with the room: show it now, connect with the ticket it brought.
      const { room, ticket, now } = options.first;
      enterRoom(room, null, ticket ? { ticket, now } : null);
      loadingFields.then(render);
      return;
    }
    let view;
    try {
      view = await api.findRoom(page.issueKey);
    } catch (error) {
      return fatal(error.status === 401 || error.status === 403 ? `${error.message} Reload the issue and try again.` : error.message);
    }
    if (view) {
      // The room shows at once; field names fill in when Jira answers.
      enterRoom(view);
      loadingFields.then(render);
    } else if (options.embedded) {
      fatal(`${page.issueKey} has no room yet.`);
    } else {
      await loadingFields;
      await showCreate();
    }
  }

  begin();
  return { unmount, get view() { return model.view; } };
}
