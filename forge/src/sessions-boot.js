// The Forge project page's first script (the refinement sessions): learn the project from
// the Forge context, hand the bridge to the host (host.js `forgeHost`), then start the same
// sessions.js Connect runs. sessions.js reads the project from `#sessions`'s data
// attributes as it loads, so it is imported only once they are set.

import * as bridge from "./forge-bridge.js";

const root = document.getElementById("sessions");

try {
  const context = await bridge.view.getContext();
  const project = (context && context.extension && context.extension.project) || {};
  if (typeof project.key !== "string" || !/^[A-Z][A-Z0-9_]{0,9}$/.test(project.key)) {
    throw new Error("Jira did not say which project this is; reload the page.");
  }
  window.agiletoolboxForge = { bridge, remote: root.dataset.remote, page: { projectKey: project.key } };
  root.dataset.projectKey = project.key;
  root.dataset.projectId = /^[0-9]+$/.test(String(project.id ?? "")) ? String(project.id) : "";
  await import("./sessions.js");
} catch (error) {
  // The same failure screen sessions.js shows.
  const box = document.createElement("div");
  box.className = "message error";
  box.setAttribute("role", "alert");
  const text = document.createElement("p");
  const lead = document.createElement("strong");
  lead.textContent = "The sessions cannot open. ";
  text.append(lead, error.message);
  box.append(text);
  root.replaceChildren(box);
}
