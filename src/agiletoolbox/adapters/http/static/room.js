// The room page: the issue's room, from the page's data attributes (and the first view the
// page came with, if any), mounted by roomview.js.

import { hostFor } from "./host.js";
import { mountRoom } from "./roomview.js";
import { h } from "./ui.js";

const root = document.getElementById("room");

function start() {
  let host;
  try {
    host = hostFor(root.dataset.host);
  } catch (error) {
    root.replaceChildren(h("div", { class: "message error", role: "alert" }, h("p", {}, h("strong", {}, "The room cannot open. "), error.message)));
    return;
  }
  const first = document.getElementById("first-view");
  mountRoom(root, {
    host,
    issueKey: root.dataset.issueKey,
    issueTypeId: root.dataset.issueTypeId,
    pageView: root.dataset.view || "glance",
    first: first ? JSON.parse(first.textContent) : null,
  });
}

start();
