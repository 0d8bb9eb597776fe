// Builds the Custom UI resources from the server's own UI files: the room page (the issue
// panel's) and the refinement sessions page (the project page's).
//
//   node scripts/build.js [--manifest PATH]     (default: manifest.yml in this folder)
//
// The manifest (from `agiletoolbox forge-manifest`) says where each resource goes - the
// path of the module's resource - and where the app runs - the `default` base URL of the
// remote behind the module's resolver endpoint, which the live sockets connect to. Into
// each folder go the UI files exactly as the server serves them, the page's boot script,
// `@forge/bridge` bundled as one ES module, and an index.html that loads them.

import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

import { build } from "esbuild";
import { parse } from "yaml";

const FORGE = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const UI = resolve(FORGE, "../src/agiletoolbox/adapters/http/static");
const UI_FILE = /^[a-z][a-z0-9-]*\.(js|css|svg)$/;
// What host.js and boot.js use of the bridge, and nothing else.
const BRIDGE_ENTRY = 'export { Modal, invokeRemote, requestJira, showFlag, view } from "@forge/bridge";';

function fail(message) {
  console.error(`build: ${message}`);
  process.exit(1);
}

function escapeHtml(text) {
  return text.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** What each page is built from: the module that shows it, its boot script and page. */
const PAGES = [
  { module: "jira:issuePanel", boot: "boot.js", html: "index.html", name: "the room page" },
  { module: "jira:projectPage", boot: "sessions-boot.js", html: "sessions.html", name: "the sessions page" },
];

/** A module's resource folder and the remote's base URL, as the manifest says. */
function target(manifest, manifestPath, kind) {
  const [panel] = (manifest.modules && manifest.modules[kind]) || [];
  if (!panel) fail(`the manifest has no ${kind}`);
  const resource = (manifest.resources || []).find((r) => r.key === panel.resource);
  const endpoint = (manifest.modules.endpoint || []).find((e) => e.key === (panel.resolver || {}).endpoint);
  const remote = endpoint && (manifest.remotes || []).find((r) => r.key === endpoint.remote);
  if (!resource || !remote) fail(`the ${kind}'s resource or remote is missing from the manifest`);
  const baseUrl = typeof remote.baseUrl === "string" ? remote.baseUrl : remote.baseUrl.default;
  if (!/^https?:\/\//.test(baseUrl || "")) fail(`the remote ${remote.key} has no http(s) base URL`);
  // Forge reads resource paths relative to the manifest.
  return { folder: resolve(dirname(manifestPath), resource.path), remote: baseUrl };
}

async function main() {
  const { values } = parseArgs({ options: { manifest: { type: "string" } } });
  const manifestPath = values.manifest ? resolve(values.manifest) : join(FORGE, "manifest.yml");
  let manifest;
  try {
    manifest = parse(readFileSync(manifestPath, "utf8"));
  } catch (error) {
    fail(`cannot read ${manifestPath} (${error.message}); write it with \`agiletoolbox forge-manifest --output forge/manifest.yml\``);
  }
  for (const page of PAGES) await buildPage(page, target(manifest, manifestPath, page.module));
}

async function buildPage(page, { folder, remote }) {
  rmSync(folder, { recursive: true, force: true });
  mkdirSync(folder, { recursive: true });
  const files = readdirSync(UI).filter((name) => UI_FILE.test(name));
  for (const name of files) cpSync(join(UI, name), join(folder, name));
  cpSync(join(FORGE, "src", page.boot), join(folder, page.boot));
  await build({
    stdin: { contents: BRIDGE_ENTRY, resolveDir: FORGE, loader: "js" },
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2020",
    minify: true,
    legalComments: "eof",
    outfile: join(folder, "forge-bridge.js"),
    logLevel: "warning",
  });
  const preloads = ["forge-bridge.js", ...files.filter((name) => name.endsWith(".js"))]
    .map((name) => `<link rel="modulepreload" href="${name}">`)
    .join("\n");
  const html = readFileSync(join(FORGE, "src", page.html), "utf8")
    .replace("<!-- preloads -->", preloads)
    .replace("<!-- remote -->", escapeHtml(remote));
  writeFileSync(join(folder, "index.html"), html);
  console.log(`build: ${page.name} is in ${folder} (its live sockets go to ${remote})`);
}

await main();
