"""The sample content every simulated site starts with: project DEMO, its fields and people.

Fields (ids as on a real Jira Cloud site):

- `customfield_10016` "Story point estimate" - number (`jsw-story-points`), on screen;
- `customfield_10035` "Estimate (text)" - single-line text, on screen;
- `customfield_10040` "T-shirt size" - select list XS, S, M, L, XL (XXL disabled), on screen;
- `customfield_10050` "Acceptance notes" - multi-line text (REST v3 wants a document), on screen;
- `customfield_10026` "Story Points" - number, known but *not* on the edit screen;
- `summary` - the system field.

Issues DEMO-1 to DEMO-40 in project DEMO (id 10000), Stories (`10001`) and a few Bugs
(`10004`): DEMO-1 to DEMO-6 done in the closed sprint "DEMO Sprint 1", DEMO-7 to DEMO-14
in the open sprint "DEMO Sprint 2" (to do, in progress, done), the rest in the backlog,
to do, ranked in an order of their own (JQL `ORDER BY Rank`).
People: five teammates, plus the two accounts Atlassian documents for testing the
personal-data API - one active, one closed.
"""

from __future__ import annotations

from agiletoolbox.simulator.site import FieldDef, Issue, Option, SavedFilter, Site, User

STORY_POINTS_FIELD = "customfield_10016"
TEXT_FIELD = "customfield_10035"
TSHIRT_FIELD = "customfield_10040"
TEXTAREA_FIELD = "customfield_10050"
OFF_SCREEN_FIELD = "customfield_10026"

PROJECT_KEY = "DEMO"
PROJECT_ID = "10000"
STORY_TYPE_ID = "10001"

ALICE = "5f8a1b2c3d4e5f60718293a4"
BOB = "5f8a1b2c3d4e5f60718293b5"
CHITRA = "5f8a1b2c3d4e5f60718293c6"
DMITRI = "5f8a1b2c3d4e5f60718293d7"
EMMA = "5f8a1b2c3d4e5f60718293e8"
TEST_ACTIVE_ACCOUNT = "5be24ad8b1653240376955d2"
"""Atlassian's documented test id of an active account (personal-data API)."""
TEST_CLOSED_ACCOUNT = "5be24ba3f91c106033269289"
"""Atlassian's documented test id of a closed account (personal-data API)."""

_CUSTOM = "com.atlassian.jira.plugin.system.customfieldtypes:"


def sample_users() -> tuple[User, ...]:
    """The people of every sample site."""
    return (
        User(ALICE, "Alice Andersen", "alice@example.com", "Europe/Copenhagen", "da_DK"),
        User(BOB, "Bob Brennan", "bob@example.com", "America/New_York", "en_US"),
        User(CHITRA, "Chitra Raman", "chitra@example.com", "Asia/Kolkata", "en_GB"),
        User(DMITRI, "Dmitri Volkov", "dmitri@example.com", "Europe/Berlin", "de_DE"),
        User(EMMA, "Emma Lindqvist", "emma@example.com", "Europe/Stockholm", "sv_SE"),
        User(TEST_ACTIVE_ACCOUNT, "Taylor Test", "taylor@example.com"),
        User(TEST_CLOSED_ACCOUNT, "Former user", "", active=False),
    )


def _custom(number: int, kind: str, type_key: str) -> dict[str, object]:
    return {"type": kind, "custom": type_key, "customId": number}


def sample_fields() -> tuple[FieldDef, ...]:
    """The fields of every sample site."""
    sizes = ("XS", "S", "M", "L", "XL")
    options = tuple(Option(str(10100 + n), label) for n, label in enumerate(sizes))
    return (
        FieldDef("summary", "Summary", {"type": "string", "system": "summary"}),
        FieldDef(
            STORY_POINTS_FIELD,
            "Story point estimate",
            _custom(10016, "number", "com.pyxis.greenhopper.jira:jsw-story-points"),
        ),
        FieldDef(TEXT_FIELD, "Estimate (text)", _custom(10035, "string", _CUSTOM + "textfield")),
        FieldDef(
            TSHIRT_FIELD,
            "T-shirt size",
            _custom(10040, "option", _CUSTOM + "select"),
            (*options, Option("10105", "XXL", disabled=True)),
        ),
        FieldDef(
            TEXTAREA_FIELD, "Acceptance notes", _custom(10050, "string", _CUSTOM + "textarea")
        ),
        FieldDef(OFF_SCREEN_FIELD, "Story Points", _custom(10026, "number", _CUSTOM + "float")),
    )


def sample_issues() -> tuple[Issue, ...]:
    """The issues of project DEMO."""
    summaries = (
        "Sign in with single sign-on",
        "Export the sprint report as CSV",
        "Show the burndown on the board",
        "Remember the last chosen deck",
        "Translate the room into German",
        "Warn before a room expires",
        "Reveal the cards when the timer ends",
        "Pick cards with the keyboard",
        "Follow Jira's dark theme",
        "Announce the reveal to screen readers",
        "Resume a room after a restart",
        "Name the outlier on the deck's scale",
    )
    backlog = tuple(
        f"{verb} the {thing}"
        for verb, thing in zip(
            (
                "Cache",
                "Audit",
                "Resize",
                "Localise",
                "Document",
                "Test",
                "Simplify",
                "Speed up",
                "Secure",
                "Archive",
                "Search",
                "Filter",
                "Paginate",
                "Sort",
            )
            * 2,
            (
                "session list",
                "deck editor",
                "issue picker",
                "summary export",
                "room history",
                "timer settings",
                "project page",
                "help dialog",
                "field chooser",
                "team list",
                "estimate field",
                "JQL form",
                "review screen",
                "async progress",
                "vote counts",
                "results chart",
                "admin page",
                "saved filters",
                "sprint view",
                "dark theme",
                "keyboard help",
                "reveal button",
                "queue order",
                "room settings",
                "status bar",
                "error page",
                "sign-in page",
                "about page",
            ),
            strict=False,
        )
    )
    issues = tuple(
        _placed(Issue(id=str(10101 + n), key=f"{PROJECT_KEY}-{n + 1}", summary=summary), n + 1)
        for n, summary in enumerate((*summaries, *backlog))
    )
    issues[1].values[STORY_POINTS_FIELD] = 3.0
    return issues


def _placed(issue: Issue, number: int) -> Issue:
    """Sample issue DEMO-`number` with its sprint, status, type, creation and rank."""
    if number % 9 == 0:
        issue.issuetype_id, issue.issuetype_name = "10004", "Bug"
    issue.created = f"2026-{9 + number // 15:02d}-{1 + number % 28:02d}T09:00:00.000+0000"
    if number <= 6:
        issue.sprint, issue.status = "DEMO Sprint 1", "Done"
    elif number <= 14:
        issue.sprint, issue.status = "DEMO Sprint 2", ("To Do", "In Progress", "Done")[number % 3]
    issue.status_category = issue.status
    issue.rank = (number * 17) % 41
    return issue


def sample_filters() -> tuple[SavedFilter, ...]:
    """Saved filters of the sample site (Alice's)."""
    return (
        SavedFilter(
            "10000",
            "DEMO backlog",
            'project = DEMO AND sprint is EMPTY AND "Story point estimate" is EMPTY ORDER BY Rank',
            ALICE,
        ),
        SavedFilter("10001", "DEMO open sprint", "sprint in openSprints() ORDER BY Rank", ALICE),
    )


def populate(site: Site) -> Site:
    """Give `site` the sample content; the edit screen holds all fields but Story Points."""
    for user in sample_users():
        site.add_user(user)
    for field_def in sample_fields():
        site.fields[field_def.id] = field_def
    for issue in sample_issues():
        site.add_issue(issue)
    site.open_sprints = {"DEMO Sprint 2"}
    for saved in sample_filters():
        site.filters[saved.id] = saved
    site.screen = {f for f in site.fields if f != OFF_SCREEN_FIELD}
    for issue in site.issues.values():
        issue.values.setdefault("summary", issue.summary)
    return site


DESCRIPTIONS = {
    "DEMO-1": "People sign in with the company's identity provider instead of a password "
    "of their own. Covers SAML and OpenID Connect; the first sign-in creates the account.",
    "DEMO-2": "A CSV export of the sprint report: issues, story points, status at the start "
    "and at the end of the sprint.",
    "DEMO-3": "Show the sprint's burndown chart on the board, above the columns, with the "
    "ideal line and the remaining work per day.",
    "DEMO-4": "When someone opens a new room, start it with the deck they chose last time.",
    "DEMO-5": "Every text of the room in German, with numbers and dates formatted the way "
    "German readers expect.",
    "DEMO-6": "Tell the room's owner a week before an idle room expires, so nobody loses "
    "a room they still need.",
    "DEMO-7": "The owner starts a countdown; when it ends the cards turn over by themselves.",
    "DEMO-8": "Digits and letters pick cards, Backspace takes the card back.",
    "DEMO-9": "The room follows the site's light or dark theme.",
    "DEMO-10": "Screen readers hear how many voted and what the reveal showed.",
    "DEMO-11": "Open rooms come back by themselves after the app restarts.",
    "DEMO-12": "The vote far from the others is the one worth a word.",
}
"""The sample issues' descriptions (plain text; REST gives them as an ADF document)."""


def description_adf(text: str) -> dict[str, object]:
    """`text` as Jira's REST v3 gives a description: an Atlassian Document Format `doc`."""
    return {
        "type": "doc",
        "version": 1,
        "content": [{"type": "paragraph", "content": [{"type": "text", "text": text}]}],
    }
