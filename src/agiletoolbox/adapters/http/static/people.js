// People's names and avatars, read by the browser from Jira through the host bridge.
// They are kept in this page only: nothing here is ever sent to the app's server.

const BATCH = 100;

export class People {
  constructor(host, onChange) {
    this.host = host;
    this.onChange = onChange;
    this.known = new Map();
    this.asked = new Set();
    this.waiting = new Set();
    this.failed = new Set();
    this.timer = null;
  }

  /** Ask Jira for the people of these account ids that are not known yet. */
  want(accountIds) {
    for (const id of accountIds) {
      if (id && !this.asked.has(id)) {
        this.asked.add(id);
        this.waiting.add(id);
      }
    }
    if (this.waiting.size && !this.timer) this.timer = setTimeout(() => this.fetch(), 0);
  }

  async fetch() {
    this.timer = null;
    const ids = [...this.waiting];
    this.waiting.clear();
    let changed = false;
    for (let start = 0; start < ids.length; start += BATCH) {
      const chunk = ids.slice(start, start + BATCH);
      const query = chunk.map((id) => `accountId=${encodeURIComponent(id)}`).join("&");
      const answer = await this.host.jira(`/rest/api/3/user/bulk?${query}&maxResults=${BATCH}`);
      const values = answer.status === 200 && answer.body && Array.isArray(answer.body.values) ? answer.body.values : [];
      for (const user of values) {
        if (!user || typeof user.accountId !== "string") continue;
        const avatars = user.avatarUrls || {};
        this.known.set(user.accountId, {
          name: typeof user.displayName === "string" ? user.displayName : "",
          avatar: avatars["48x48"] || avatars["32x32"] || avatars["24x24"] || "",
          active: user.active !== false,
        });
        changed = true;
      }
      if (answer.status !== 200) {
        for (const id of chunk) this.asked.delete(id);
      }
      for (const id of chunk) if (!this.known.has(id)) this.failed.add(id);
      changed = true;
    }
    if (changed) this.onChange();
  }

  /** Whether the person's name is still on its way from Jira. */
  loading(accountId) {
    return !this.known.has(accountId) && !this.failed.has(accountId);
  }

  /** The person's name as Jira shows it, else `fallback`. */
  name(accountId, fallback = "Jira user") {
    const person = this.known.get(accountId);
    if (person && person.name) return person.active ? person.name : `${person.name} (deactivated)`;
    return fallback;
  }

  avatar(accountId) {
    const person = this.known.get(accountId);
    return person ? person.avatar : "";
  }
}
