// The Forge room page's first script: learn the issue from the Forge context, hand the
// bridge to the host (host.js `forgeHost`), then start the same room.js Connect runs.
// room.js reads the issue from `#room`'s data attributes as it loads, so it is
// imported only once they are set.

import * as bridge from "./forge-bridge.js";
import { forgePage } from "./host.js";

const root = document.getElementById("room");

try {
  const page = await forgePage(bridge);
  window.agiletoolboxForge = { bridge, remote: root.dataset.remote, page };
  Object.assign(root.dataset, page);
  document.body.classList.add(`view-${page.view}`);
  await import("./room.js");
} catch (error) {
  // The same failure screen room.js shows.
  const box = document.createElement("div");
  box.className = "message error";
  box.setAttribute("role", "alert");
  const text = document.createElement("p");
  const lead = document.createElement("strong");
  lead.textContent = "The room cannot open. ";
  text.append(lead, error.message);
  box.append(text);
  root.replaceChildren(box);
}
