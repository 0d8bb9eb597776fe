// The issue's editable fields, read by the browser from Jira (`editmeta`): which can hold
// an estimate, and their names and types. Only the chosen field's id goes to the app.

const TEXTAREA = "com.atlassian.jira.plugin.system.customfieldtypes:textarea";
const PREFERRED = ["Story point estimate", "Story Points", "Story points"];

const KINDS = { number: "Number", string: "Text", option: "Select list" };

/** The kind of estimate a field takes: `number`, `string`, `option`, or null for none. */
function kindOf(meta) {
  const schema = (meta && meta.schema) || {};
  const operations = meta && meta.operations;
  if (Array.isArray(operations) && !operations.includes("set")) return null;
  if (schema.type === "number") return "number";
  if (schema.type === "string" && schema.custom !== TEXTAREA && schema.system !== "summary") return "string";
  if (schema.type === "option") return "option";
  return null;
}

/**
 * `{ok, fields, message}`: the issue's fields that can hold an estimate, each
 * `{id, name, kind, kindLabel, options}`, story points first.
 */
export async function estimateFields(host, issueKey) {
  const answer = await host.jira(`/rest/api/3/issue/${encodeURIComponent(issueKey)}/editmeta`);
  if (answer.status !== 200 || !answer.body || typeof answer.body.fields !== "object") {
    const messages = (answer.body && answer.body.errorMessages) || [];
    return {
      ok: false,
      fields: [],
      message: messages[0] || `Jira did not list the fields of ${issueKey} (HTTP ${answer.status}).`,
    };
  }
  const fields = [];
  for (const [id, meta] of Object.entries(answer.body.fields)) {
    const kind = kindOf(meta);
    if (!kind) continue;
    const options = Array.isArray(meta.allowedValues)
      ? meta.allowedValues.filter((o) => o && !o.disabled && typeof o.value === "string").map((o) => o.value)
      : [];
    fields.push({ id, name: String(meta.name || id), kind, kindLabel: KINDS[kind], options });
  }
  const rank = (f) => {
    const preferred = PREFERRED.indexOf(f.name);
    return preferred >= 0 ? preferred : f.kind === "number" ? 10 : f.kind === "option" ? 20 : 30;
  };
  fields.sort((a, b) => rank(a) - rank(b) || a.name.localeCompare(b.name));
  return { ok: true, fields, message: "" };
}
