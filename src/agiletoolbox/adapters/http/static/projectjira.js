// Jira as the sessions page reads it, in the browser (through the host bridge): JQL search
// page by page, summaries, the estimate field, descriptions, the issue picker. What it reads
// stays here: the app's server is sent issue keys only.

import { h } from "./ui.js";

const PAGE_SIZE = 50;
const ISSUE_KEY = /^[A-Z][A-Z0-9_]{0,9}-[1-9][0-9]*$/i;
const PREFERRED = ["Story point estimate", "Story Points", "Story points"];

/** A description (Atlassian Document Format) as plain text, one line per block. */
export function adfText(node) {
  if (!node || typeof node !== "object") return "";
  if (node.type === "text") return String(node.text || "");
  const inner = (node.content || []).map(adfText).join("");
  return ["paragraph", "heading", "listItem", "blockquote", "codeBlock"].includes(node.type) ? `${inner}\n` : inner;
}

export class ProjectJira {
  constructor(host, projectKey) {
    this.host = host;
    this.projectKey = projectKey;
    /** Issue facts read from Jira (never sent to the app): key -> {summary, type}. */
    this.issues = new Map();
  }

  async json(path, options) {
    const answer = await this.host.jira(path, options);
    if (answer.status >= 200 && answer.status < 300) return answer.body;
    const messages = (answer.body && answer.body.errorMessages) || [];
    throw new Error(messages[0] || `Jira answered ${answer.status}.`);
  }

  /** One page of a JQL search: `{hits: [{key, summary, type, typeId, icon, estimate}], next}`. */
  async searchPage(jql, next, estimateField) {
    const fields = ["summary", "issuetype", ...(estimateField ? [estimateField] : [])];
    const body = { jql, maxResults: PAGE_SIZE, fields, ...(next ? { nextPageToken: next } : {}) };
    const found = await this.json("/rest/api/3/search/jql", { method: "POST", body });
    const hits = (found.issues || []).map((issue) => {
      const f = issue.fields || {};
      const type = f.issuetype || {};
      const hit = { key: issue.key, summary: f.summary || "", type: type.name || "", typeId: type.id || "", icon: type.iconUrl || "", estimate: estimateField ? f[estimateField] : null };
      this.issues.set(hit.key, { summary: hit.summary, type: hit.type });
      return hit;
    });
    return { hits, next: found.isLast ? null : found.nextPageToken || null };
  }

  /** Summaries and types of `keys` not read yet, a search per 50. */
  async learn(keys) {
    const missing = keys.filter((key) => !this.issues.has(key));
    for (let at = 0; at < missing.length; at += PAGE_SIZE) {
      const chunk = missing.slice(at, at + PAGE_SIZE);
      try {
        await this.searchPage(`key in (${chunk.join(", ")})`, null, null);
      } catch {
        // Shown as keys alone; the next view tries again.
      }
    }
  }

  /** The project's estimate field, guessed from Jira's field list (story points first). */
  async guessEstimateField() {
    try {
      const fields = await this.json("/rest/api/3/field");
      const found = fields.find((f) => PREFERRED.includes(f.name));
      return found ? { id: found.id, name: found.name } : null;
    } catch {
      return null;
    }
  }

  /** The issue's summary, when it was read. */
  label(key) {
    const known = this.issues.get(key);
    return known && known.summary ? known.summary : "";
  }

  /**
   * Jira's issue picker: a search box and the issues of the project whose key or summary
   * holds what is typed. `onPick(key, summary)`; `held()` names keys not to offer.
   * Returns `{input, list}` to place in a form.
   */
  picker({ id, placeholder, keyPrefix, held = () => new Set(), onPick }) {
    const input = h("input", { id, type: "search", placeholder, autocomplete: "off" });
    const list = h("ul", { class: "suggestions", role: "listbox", "aria-label": "Matching issues" });
    let timer = null;
    let asked = 0; // answers to an older question are dropped
    const search = async () => {
      const text = input.value.trim();
      const question = ++asked;
      if (!text) return list.replaceChildren();
      try {
        const scope = encodeURIComponent(`project = ${this.projectKey}`);
        const found = await this.json(`/rest/api/3/issue/picker?query=${encodeURIComponent(text)}&currentJQL=${scope}`);
        if (question !== asked) return;
        const skip = held();
        const seen = new Map();
        for (const section of found.sections || []) for (const issue of section.issues || []) if (!skip.has(issue.key)) seen.set(issue.key, issue);
        list.replaceChildren(
          ...[...seen.values()].slice(0, 10).map((issue) =>
            h("li", {}, h("button", { type: "button", class: "suggestion", role: "option", dataset: { key: `${keyPrefix}${issue.key}` }, onclick: () => {
              this.issues.set(issue.key, { summary: issue.summaryText || "", type: "" });
              list.replaceChildren();
              input.value = "";
              onPick(issue.key, issue.summaryText || "");
            } }, `${issue.key} ${issue.summaryText || ""}`)),
          ),
        );
        this.host.resize();
      } catch {
        if (question === asked) list.replaceChildren();
      }
    };
    input.addEventListener("input", () => {
      clearTimeout(timer);
      // A whole issue key is looked up at once; words wait for a pause in the typing.
      if (ISSUE_KEY.test(input.value.trim())) search();
      else timer = setTimeout(search, 250);
    });
    return { input, list };
  }
}
