"""A subset of JQL, as `/rest/api/3/search/jql` takes it (sessions.md §5.1).

Clauses: `project`, `status`, `statusCategory`, `issuetype`, `key` with `=`, `!=`, `in`,
`not in`; `sprint in openSprints()` / `not in openSprints()`, `sprint is EMPTY`;
`"Field name"`, `cf[NNNNN]` or a field id with `is EMPTY` / `is not EMPTY`; joined with
`AND`, `OR`, `NOT` and parentheses; `ORDER BY Rank|key|created [ASC|DESC]`, several keys
separated by commas. What Jira refuses here is refused with its message: a query that
names no restriction ("unbounded"), an unknown field, a value the field does not have,
and a syntax error.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from attrs import frozen

from agiletoolbox.simulator.site import Issue, Site

UNBOUNDED = (
    "Unbounded JQL queries are not allowed here. Please add a search restriction to your query."
)
MAX_ORDER_KEYS = 7

Predicate = Callable[[Issue], bool]


class JqlError(ValueError):
    """Jira's 400 for the query; `message` is what `errorMessages` says."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@frozen
class Query:
    """A parsed query: which issues match, and in which order."""

    matches: Predicate
    order: tuple[tuple[str, bool], ...]
    """(key, descending) pairs."""

    def run(self, site: Site) -> list[Issue]:
        """The site's issues that match, in the query's order (Rank when it names none)."""
        found = [issue for issue in site.issues.values() if self.matches(issue)]
        for key, descending in reversed(self.order or (("rank", False),)):
            found.sort(key=_SORT_KEYS[key], reverse=descending)
        return found


_SORT_KEYS: dict[str, Callable[[Issue], Any]] = {
    "rank": lambda issue: issue.rank,
    "key": lambda issue: (issue.project_key, int(issue.key.rsplit("-", 1)[1])),
    "created": lambda issue: issue.created,
}

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
      | (?P<op>!=|=|\(|\)|,)
      | (?P<word>[A-Za-z0-9_.\-\[\]]+(?:\(\))?)
    )""",
    re.VERBOSE,
)


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    text = text.rstrip()
    while position < len(text):
        found = _TOKEN.match(text, position)
        if found is None or found.end() == position:
            character = text[position:].lstrip()[:1]
            escape = f"\\u{ord(character):04x}" if character else ""
            raise JqlError(
                f"Error in the JQL Query: The character '{character}' is a reserved JQL "
                f"character. You must enclose it in a string or use the escape '{escape}' "
                f"instead. (line 1, character {position + 1})"
            )
        kind = found.lastgroup or "word"
        value = found.group(kind)
        if kind == "string":
            value = bytes(value[1:-1], "utf-8").decode("unicode_escape")
        tokens.append((kind, value))
        position = found.end()
    return tokens


class _Parser:
    def __init__(self, site: Site, text: str) -> None:
        self.site = site
        self.tokens = _tokens(text)
        self.at = 0
        self.bounded = False

    # -- reading tokens ---------------------------------------------------------------

    def peek(self, *words: str) -> bool:
        if self.at >= len(self.tokens):
            return False
        kind, value = self.tokens[self.at]
        return kind != "string" and value.lower() in words

    def take(self, *words: str) -> str:
        if not self.peek(*words):
            raise self.expected(" or ".join(repr(w) for w in words))
        self.at += 1
        return self.tokens[self.at - 1][1]

    def value(self) -> str:
        if self.at >= len(self.tokens):
            raise self.expected("a value")
        kind, value = self.tokens[self.at]
        if kind == "op":
            raise self.expected("a value")
        self.at += 1
        return value

    def expected(self, what: str) -> JqlError:
        found = self.tokens[self.at][1] if self.at < len(self.tokens) else "the end of the query"
        return JqlError(f"Error in the JQL Query: Expecting {what} but got '{found}'.")

    # -- the grammar ----------------------------------------------------------------------

    def query(self) -> Query:
        matches: Predicate = lambda _issue: True  # noqa: E731 - the empty query's
        if self.at < len(self.tokens) and not self.peek("order"):
            matches = self.disjunction()
        order: list[tuple[str, bool]] = []
        if self.peek("order"):
            self.take("order")
            self.take("by")
            order.append(self.order_key())
            while self.peek(","):
                self.take(",")
                order.append(self.order_key())
        if self.at < len(self.tokens):
            raise self.expected("'AND', 'OR' or 'ORDER BY'")
        if not self.bounded:
            raise JqlError(UNBOUNDED)
        if len(order) > MAX_ORDER_KEYS:
            raise JqlError(
                f"Error in the JQL Query: ORDER BY takes at most {MAX_ORDER_KEYS} fields."
            )
        return Query(matches, tuple(order))

    def order_key(self) -> tuple[str, bool]:
        name = self.value().lower()
        if name not in _SORT_KEYS:
            raise JqlError(f"Not able to sort using field '{name}'.")
        descending = False
        if self.peek("asc", "desc"):
            descending = self.take("asc", "desc").lower() == "desc"
        return name, descending

    def disjunction(self) -> Predicate:
        parts = [self.conjunction()]
        while self.peek("or"):
            self.take("or")
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else lambda issue: any(p(issue) for p in parts)

    def conjunction(self) -> Predicate:
        parts = [self.negation()]
        while self.peek("and"):
            self.take("and")
            parts.append(self.negation())
        return parts[0] if len(parts) == 1 else lambda issue: all(p(issue) for p in parts)

    def negation(self) -> Predicate:
        if self.peek("not"):
            self.take("not")
            inner = self.negation()
            return lambda issue: not inner(issue)
        if self.peek("("):
            self.take("(")
            inner = self.disjunction()
            self.take(")")
            return inner
        return self.clause()

    def clause(self) -> Predicate:
        field = self.value()
        name = field.lower()
        if self.peek("is"):
            self.take("is")
            negated = self.peek("not")
            if negated:
                self.take("not")
            self.take("empty", "null")
            empty = self.emptiness(field)
            return (lambda issue: not empty(issue)) if negated else empty
        if name == "sprint":
            negated = self.peek("not")
            if negated:
                self.take("not")
            self.take("in")
            self.take("opensprints()")
            self.bounded = True
            return (
                (lambda issue: not self.in_open_sprint(issue)) if negated else self.in_open_sprint
            )
        read = self.reader(field)
        if self.peek("=", "!="):
            operator = self.take("=", "!=")
            values = [self.value()]
        else:
            negated = self.peek("not")
            if negated:
                self.take("not")
            self.take("in")
            operator = "!=" if negated else "="
            values = self.list()
        wanted = {self.known_value(name, value) for value in values}
        self.bounded = True
        if operator == "=":
            return lambda issue: read(issue) in wanted
        return lambda issue: read(issue) not in wanted

    def list(self) -> list[str]:
        self.take("(")
        values = [self.value()]
        while self.peek(","):
            self.take(",")
            values.append(self.value())
        self.take(")")
        return values

    def in_open_sprint(self, issue: Issue) -> bool:
        return issue.sprint is not None and issue.sprint in self.site.open_sprints

    # -- fields and values ---------------------------------------------------------------

    def reader(self, field: str) -> Callable[[Issue], str]:
        readers: dict[str, Callable[[Issue], str]] = {
            "project": lambda issue: issue.project_key.lower(),
            "status": lambda issue: issue.status.lower(),
            "statuscategory": lambda issue: issue.status_category.lower(),
            "issuetype": lambda issue: issue.issuetype_name.lower(),
            "type": lambda issue: issue.issuetype_name.lower(),
            "key": lambda issue: issue.key.lower(),
            "issuekey": lambda issue: issue.key.lower(),
        }
        read = readers.get(field.lower())
        if read is None:
            raise self.no_field(field)
        return read

    def known_value(self, name: str, value: str) -> str:
        issues = self.site.issues.values()
        known: dict[str, Iterable[str]] = {
            "project": [i.project_key for i in issues],
            "status": [i.status for i in issues],
            "statuscategory": ["To Do", "In Progress", "Done"],
            "issuetype": [i.issuetype_name for i in issues],
            "type": [i.issuetype_name for i in issues],
        }
        allowed = known.get(name)
        if allowed is not None and value.lower() not in {a.lower() for a in allowed}:
            field = {"type": "issuetype", "statuscategory": "statusCategory"}.get(name, name)
            raise JqlError(f"The value '{value}' does not exist for the field '{field}'.")
        return value.lower()

    def emptiness(self, field: str) -> Predicate:
        if field.lower() == "sprint":
            return lambda issue: issue.sprint is None
        field_id = self.field_id(field)
        self.bounded = self.bounded or False
        return lambda issue: issue.values.get(field_id) in (None, "", [])

    def field_id(self, field: str) -> str:
        custom = re.fullmatch(r"cf\[(\d+)\]", field, re.IGNORECASE)
        if custom is not None:
            wanted = f"customfield_{custom.group(1)}"
            if wanted in self.site.fields:
                return wanted
        for field_def in self.site.fields.values():
            if field in (field_def.id, field_def.name):
                return field_def.id
        raise self.no_field(field)

    @staticmethod
    def no_field(field: str) -> JqlError:
        return JqlError(f"Field '{field}' does not exist or you do not have permission to view it.")


def parse(site: Site, text: str) -> Query:
    """The query `text` on `site`; `JqlError` with Jira's message when Jira refuses it."""
    return _Parser(site, text).query()


def keys_of(issues: Sequence[Issue]) -> list[str]:
    """The keys, in order (what tests compare)."""
    return [issue.key for issue in issues]
