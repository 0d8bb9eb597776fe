"""A simulated Jira Cloud site: its users, fields, issues, edit screen and installations.

A site lives under the simulator's origin at `/sites/<name>`: its base URL is
`<origin>/sites/<name>` (the path plays the part of Jira's context path, so every `qsh`
is computed relative to it, as Jira does for a site with a context path). Field values
are kept the way Jira keeps them: numbers as floats, text as text, options by option id.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from attrs import define, field, frozen

from agiletoolbox.simulator.faults import Faults

SITE_NAME = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?")
SITES_PREFIX = "/sites"


@frozen
class User:
    """An Atlassian account. Its name, e-mail and avatar are served to browsers only."""

    account_id: str
    display_name: str
    email: str
    time_zone: str = "Europe/Berlin"
    locale: str = "en_US"
    active: bool = True


@frozen
class Option:
    """One option of a select list."""

    id: str
    value: str
    disabled: bool = False


@frozen
class FieldDef:
    """A field of the site, as `GET /rest/api/3/field` describes it."""

    id: str
    name: str
    schema: Mapping[str, Any]
    options: tuple[Option, ...] = ()

    @property
    def type(self) -> str:
        """The schema type: `number`, `string`, `option`, ..."""
        return str(self.schema.get("type"))

    @property
    def custom(self) -> str | None:
        """The custom field type key, None for system fields."""
        custom = self.schema.get("custom")
        return custom if isinstance(custom, str) else None

    def option(self, *, option_id: str | None = None, value: str | None = None) -> Option | None:
        """The enabled option with this id or label."""
        for option in self.options:
            if not option.disabled and (option.id == option_id or option.value == value):
                return option
        return None


@define
class Issue:
    """An issue of the site's sample project."""

    id: str
    key: str
    summary: str
    project_key: str = "DEMO"
    project_id: str = "10000"
    issuetype_id: str = "10001"
    values: dict[str, Any] = field(factory=dict)
    issuetype_name: str = "Story"
    status: str = "To Do"
    status_category: str = "To Do"
    """`To Do`, `In Progress` or `Done`, as JQL's `statusCategory` names them."""
    sprint: str | None = None
    """The sprint the issue is in (None: the backlog)."""
    created: str = "2026-11-02T09:00:00.000+0000"
    rank: int = 0
    """The issue's place in the backlog's order (JQL `ORDER BY Rank`)."""
    comments: list[dict[str, Any]] = field(factory=list)
    """Its comments, oldest first, as Jira keeps them (ADF bodies, properties)."""


@frozen
class SavedFilter:
    """A saved JQL filter of the site."""

    id: str
    name: str
    jql: str
    owner: str


@define
class Installation:
    """The app installed on a site: what Jira remembers of it.

    `state` is `installed`, `enabled`, `disabled` or `uninstalled`; Jira answers the
    app's requests only while it is installed or enabled.
    """

    app_key: str
    app_base_url: str
    descriptor: dict[str, Any] = field(repr=False)
    shared_secret: str = field(repr=False)
    oauth_client_id: str
    installation_id: str | None = None
    state: str = "installed"

    @property
    def active(self) -> bool:
        """Whether Jira serves the app's requests."""
        return self.state in ("installed", "enabled")

    @property
    def name(self) -> str:
        """The app's name from its descriptor."""
        name = self.descriptor.get("name")
        return name if isinstance(name, str) else self.app_key


@define
class Site:
    """One Jira Cloud site. `origin` is set when the simulator knows where it listens."""

    name: str = field()
    client_key: str
    users: dict[str, User] = field(factory=dict)
    fields: dict[str, FieldDef] = field(factory=dict)
    issues: dict[str, Issue] = field(factory=dict)
    screen: set[str] = field(factory=set)
    """Field ids on the edit screen of every issue (before faults)."""
    realm: str | None = None
    """The data-residency realm the site is pinned to (`EU`, `US`, ...), if any."""
    connect_on_forge: bool = False
    """Whether lifecycle payloads carry an `installationId` (Connect on Forge)."""
    installation_ari: str | None = None
    faults: Faults = field(factory=Faults)
    installations: dict[str, Installation] = field(factory=dict)
    origin: str = ""
    open_sprints: set[str] = field(factory=set)
    """The sprints that are open now (JQL `openSprints()`)."""
    filters: dict[str, SavedFilter] = field(factory=dict)
    """Saved filters by id (`/rest/api/3/filter/...`)."""
    comment_serial: int = 0
    """The last comment id handed out (comment ids are site-wide)."""

    @name.validator
    def _check_name(self, _attribute: object, value: str) -> None:
        if not SITE_NAME.fullmatch(value):
            raise ValueError("a site name is 1-32 lower-case letters, digits and '-'")

    @property
    def base_path(self) -> str:
        """The path of the site's base URL (`/sites/<name>`)."""
        return f"{SITES_PREFIX}/{self.name}"

    @property
    def base_url(self) -> str:
        """The site's base URL, as lifecycle payloads carry it."""
        if not self.origin:
            raise RuntimeError("the simulator is not listening yet; start it first")
        return self.origin + self.base_path

    def issue(self, key_or_id: str) -> Issue | None:
        """The issue with this key (any case) or id."""
        wanted = key_or_id.upper()
        for issue in self.issues.values():
            if issue.key == wanted or issue.id == key_or_id:
                return issue
        return None

    def add_issue(self, issue: Issue) -> Issue:
        """Add an issue to the site."""
        self.issues[issue.key] = issue
        return issue

    def add_user(self, user: User) -> User:
        """Add a user to the site."""
        self.users[user.account_id] = user
        return user

    def editable(self, field_id: str) -> FieldDef | None:
        """The field if it is on the edit screen now (known and not hidden by a fault)."""
        if field_id in self.screen and field_id not in self.faults.off_screen:
            return self.fields.get(field_id)
        return None

    def installation(self, app_key: str | None = None) -> Installation:
        """The installation of `app_key` (or the only one); `LookupError` if none."""
        if app_key is None:
            if len(self.installations) != 1:
                raise LookupError("name the app: the site has not exactly one installation")
            return next(iter(self.installations.values()))
        try:
            return self.installations[app_key]
        except KeyError:
            raise LookupError(f"the app {app_key} is not installed on {self.name}") from None

    def value_json(self, issue: Issue, field_def: FieldDef) -> object:
        """A field's value as `GET /rest/api/3/issue` shows it."""
        stored = issue.values.get(field_def.id)
        if stored is None:
            return None
        if field_def.type == "option":
            option = next((o for o in field_def.options if o.id == stored), None)
            if option is None:
                return None
            return {
                "self": f"{self.base_url}/rest/api/3/customFieldOption/{option.id}",
                "value": option.value,
                "id": option.id,
            }
        return stored
