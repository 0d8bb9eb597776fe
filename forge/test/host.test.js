// The room page's Forge host, driven with a fake `@forge/bridge`: the API goes through
// `invokeRemote` with the same paths and bodies as Connect, Jira through `requestJira`,
// the live socket to the remote, and the issue comes from the Forge context.
//
// Run with `node --test test/` in forge/ (no install needed: only node's own modules).

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const STATIC = resolve(dirname(fileURLToPath(import.meta.url)), "../../src/agiletoolbox/adapters/http/static");

// The UI files are browser modules without imports of their own; a data: URL loads them
// as ES modules whatever node thinks of a .js file outside a "type": "module" package.
async function load(name) {
  const source = readFileSync(resolve(STATIC, name), "utf8");
  return import(`data:text/javascript;base64,${Buffer.from(source).toString("base64")}`);
}

const { forgeHost, forgePage, hostFor, HostError } = await load("host.js");
const { roomApi } = await load("api.js");

const PAGE = { issueKey: "DEMO-7", issueTypeId: "10001", projectKey: "DEMO", view: "glance" };

/** A stand-in for `@forge/bridge` that records every call and answers from `replies`. */
function fakeBridge(replies = {}) {
  const calls = { invokeRemote: [], requestJira: [], showFlag: [], modals: [], closed: 0, theming: 0 };
  return {
    calls,
    async invokeRemote(input) {
      calls.invokeRemote.push(input);
      const reply = replies[`${input.method} ${input.path}`];
      if (reply instanceof Error) throw reply;
      return reply || { status: 200, headers: {}, body: {} };
    },
    async requestJira(path, init) {
      calls.requestJira.push({ path, init });
      const reply = replies[`jira ${path}`];
      if (reply instanceof Error) throw reply;
      return new Response(reply ? JSON.stringify(reply.body) : "{}", { status: reply ? reply.status : 200 });
    },
    showFlag(options) {
      calls.showFlag.push(options);
      return { close: async () => true };
    },
    Modal: class {
      constructor(options) {
        this.options = options;
        calls.modals.push(this);
      }
      async open() {
        this.opened = true;
        if (replies.modalFails) throw new Error("Unable to open modal.");
      }
    },
    view: {
      async getContext() {
        return replies.context;
      },
      async close() {
        calls.closed += 1;
      },
      theme: {
        async enable() {
          calls.theming += 1;
        },
      },
    },
  };
}

function host(bridge, remote = "https://poker.example.com") {
  return forgeHost({ bridge, remote, page: PAGE });
}

test("the API goes through invokeRemote with Connect's paths and bodies", async () => {
  const bridge = fakeBridge({
    "GET /api/rooms?issueKey=DEMO-7": { status: 204, headers: {}, body: "" },
    "POST /api/rooms": { status: 201, headers: {}, body: { id: "r1", version: 1 } },
    "POST /api/rooms/r1/ticket": { status: 200, headers: {}, body: { ticket: "t.k", now: "2026-12-04T12:00:00Z" } },
  });
  const api = roomApi(host(bridge));
  assert.equal(await api.findRoom("DEMO-7"), null);
  assert.deepEqual(await api.createRoom({ issueKey: "DEMO-7", deck: "fibonacci" }), { id: "r1", version: 1 });
  assert.deepEqual(await api.ticket("r1"), { ticket: "t.k", now: "2026-12-04T12:00:00Z" });
  await api.remove("r1");
  assert.deepEqual(bridge.calls.invokeRemote, [
    { path: "/api/rooms?issueKey=DEMO-7", method: "GET" },
    { path: "/api/rooms", method: "POST", body: { issueKey: "DEMO-7", deck: "fibonacci" } },
    { path: "/api/rooms/r1/ticket", method: "POST", body: {} },
    { path: "/api/rooms/r1", method: "DELETE" },
  ]);
});

test("a refusal keeps its status, code and message", async () => {
  const bridge = fakeBridge({
    "PATCH /api/rooms/r1": { status: 403, headers: {}, body: { error: { code: "forbidden", message: "Only the owner." } } },
  });
  await assert.rejects(roomApi(host(bridge)).configure("r1", { deck: "linear" }), {
    status: 403,
    code: "forbidden",
    message: "Only the owner.",
  });
});

test("a JSON body that arrives as text is parsed", async () => {
  const bridge = fakeBridge({ "GET /api/rooms?issueKey=DEMO-7": { status: 200, headers: {}, body: '{"id":"r1"}' } });
  assert.deepEqual(await roomApi(host(bridge)).findRoom("DEMO-7"), { id: "r1" });
});

test("a bridge that fails is the app being unreachable", async () => {
  const bridge = fakeBridge({ "POST /api/rooms/r1/reveal": new Error("network") });
  const answer = host(bridge).appFetch("/api/rooms/r1/reveal", { method: "POST", body: {} });
  await assert.rejects(answer, /network/);
  const api = roomApi(host(fakeBridge({ "POST /api/rooms/r1/ticket": new Error("network") })));
  await assert.rejects(api.ticket("r1"), { status: 0, code: "offline" });
});

test("an answer without a status is a host failure, not a success", async () => {
  const bridge = fakeBridge({ "GET /api/rooms?issueKey=DEMO-7": { body: { id: "r1" } } });
  await assert.rejects(roomApi(host(bridge)).findRoom("DEMO-7"), HostError);
});

test("the live socket connects to the remote, not to the page's origin", () => {
  const path = "/api/rooms/r1/live?ticket=t.k";
  assert.equal(host(fakeBridge()).socketUrl(path), `wss://poker.example.com${path}`);
  assert.equal(host(fakeBridge(), "http://127.0.0.1:8080/").socketUrl(path), `ws://127.0.0.1:8080${path}`);
  assert.equal(host(fakeBridge(), "https://eu.poker.example.com/app/").socketUrl(path), `wss://eu.poker.example.com/app${path}`);
});

test("the socket follows the deployment the ticket names (the site's region)", async () => {
  const path = "/api/rooms/r1/live?ticket=t.k";
  const eu = { ticket: "t.k", baseUrl: "https://eu.poker.example.com" };
  const forge = host(fakeBridge({ "POST /api/rooms/r1/ticket": { status: 200, headers: {}, body: eu } }));
  assert.equal((await roomApi(forge).ticket("r1")).ticket, "t.k");
  assert.equal(forge.socketUrl(path), `wss://eu.poker.example.com${path}`);
  const odd = host(fakeBridge({ "POST /api/rooms/r1/ticket": { status: 200, headers: {}, body: { ticket: "t.k", baseUrl: "not a url" } } }));
  await roomApi(odd).ticket("r1");
  assert.equal(odd.socketUrl(path), `wss://poker.example.com${path}`);
});

test("Jira is asked through requestJira, as the person", async () => {
  const bridge = fakeBridge({ "jira /rest/api/3/user/bulk?accountId=a1": { status: 200, body: { values: [{ accountId: "a1" }] } } });
  const forge = host(bridge);
  assert.deepEqual(await forge.jira("/rest/api/3/user/bulk?accountId=a1"), {
    status: 200,
    body: { values: [{ accountId: "a1" }] },
  });
  await forge.jira("/rest/api/3/issue/DEMO-7", { method: "PUT", body: { fields: {} } });
  const [read, write] = bridge.calls.requestJira;
  assert.deepEqual(read, { path: "/rest/api/3/user/bulk?accountId=a1", init: { method: "GET", headers: { Accept: "application/json" }, body: undefined } });
  assert.equal(write.init.method, "PUT");
  assert.equal(write.init.headers["Content-Type"], "application/json");
  assert.equal(write.init.body, '{"fields":{}}');
});

test("a failed Jira call answers status 0, as Connect's does", async () => {
  const bridge = fakeBridge({ "jira /rest/api/3/field": new Error("offline") });
  assert.deepEqual(await host(bridge).jira("/rest/api/3/field"), { status: 0, body: null });
});

test("flags, dialogs and resizing use the bridge", async () => {
  const bridge = fakeBridge();
  const forge = host(bridge);
  forge.flag({ type: "success", title: "Estimate written", body: "DEMO-7: 5" });
  forge.flag({ title: "Again" });
  assert.deepEqual(bridge.calls.showFlag, [
    { id: "room-flag-1", type: "success", title: "Estimate written", description: "DEMO-7: 5", isAutoDismiss: true },
    { id: "room-flag-2", type: "info", title: "Again", description: "", isAutoDismiss: true },
  ]);
  assert.equal(forge.canOpenDialog, true);
  forge.openDialog();
  const [modal] = bridge.calls.modals;
  assert.deepEqual(modal.options, { size: "large", context: { ...PAGE, view: "dialog" } });
  assert.equal(modal.opened, true);
  forge.closeDialog();
  assert.equal(bridge.calls.closed, 1);
  forge.resize();
});

test("a modal that does not open says so in a flag", async () => {
  const bridge = fakeBridge({ modalFails: true });
  host(bridge).openDialog();
  await new Promise((done) => setImmediate(done));
  assert.equal(bridge.calls.showFlag.length, 1);
  assert.equal(bridge.calls.showFlag[0].type, "error");
});

test("without a bridge or a remote the host refuses to start", () => {
  assert.throws(() => forgeHost(undefined), HostError);
  assert.throws(() => forgeHost({ bridge: {} }), HostError);
  assert.throws(() => forgeHost({ bridge: fakeBridge(), remote: "" }), HostError);
});

test("hostFor picks the Forge host from the page's globals", () => {
  const forge = hostFor("forge", { agiletoolboxForge: { bridge: fakeBridge(), remote: "https://poker.example.com", page: PAGE } });
  assert.equal(forge.kind, "forge");
  assert.throws(() => hostFor("forge", {}), HostError);
});

test("the issue panel's context names the page's issue", async () => {
  const context = {
    extension: { type: "jira:issuePanel", issue: { id: "10042", key: "DEMO-7", typeId: "10001" }, project: { id: "10000", key: "DEMO" } },
  };
  assert.deepEqual(await forgePage(fakeBridge({ context })), PAGE);
});

test("the modal's context names the issue the panel passed along", async () => {
  const context = { extension: { type: "jira:issuePanel", modal: { ...PAGE, view: "dialog" } } };
  assert.deepEqual(await forgePage(fakeBridge({ context })), { ...PAGE, view: "dialog" });
});

test("odd issue type ids are dropped, and a context without an issue is refused", async () => {
  const context = { extension: { issue: { key: "DEMO-7", typeId: "1 OR 1" }, project: {} } };
  assert.deepEqual(await forgePage(fakeBridge({ context })), { issueKey: "DEMO-7", issueTypeId: "", projectKey: "", view: "glance" });
  await assert.rejects(forgePage(fakeBridge({ context: { extension: {} } })), HostError);
  await assert.rejects(forgePage(fakeBridge({ context: null })), HostError);
});

test("the page follows Jira's theme through view.theme, and goes on without it", () => {
  const bridge = fakeBridge();
  host(bridge).theme();
  assert.equal(bridge.calls.theming, 1);
  const older = fakeBridge();
  delete older.view.theme;
  assert.doesNotThrow(() => host(older).theme());
});
