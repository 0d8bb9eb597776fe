"""The errors the domain raises, one class per kind of refusal.

Adapters map each class to one answer (HTTP status, close code, CLI exit code) in one place;
the message is written for the person who caused it and never carries a secret.
"""

from __future__ import annotations

QUOTED = 40
"""The most characters of what a client sent that a message quotes back."""


def quote(value: object, limit: int = QUOTED) -> str:
    """`value` as a message quotes it: `repr` of its text, cut to `limit` characters (an
    answer never carries back a whole oversize value, nor much of what a person typed)."""
    text = str(value)
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


class DomainError(Exception):
    """Base class of every rule the domain enforces."""

    code = "domain_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidValue(DomainError):
    """A value does not have the shape the domain accepts (an id, a card, a deck)."""

    code = "invalid_value"


class NotPermitted(DomainError):
    """The actor is known but may not do this (not the owner, not a voter)."""

    code = "forbidden"


class NotFound(DomainError):
    """The thing asked for does not exist for this tenant."""

    code = "not_found"


class InvalidState(DomainError):
    """The action does not fit the current state (voting on a revealed round, and the like)."""

    code = "conflict"


class ConcurrentChange(DomainError):
    """Somebody changed the same aggregate first; the caller may retry on fresh state."""

    code = "concurrent_change"


class AccessRefused(DomainError):
    """The tenant may not be served (unknown, disabled, uninstalled or of another region)."""

    code = "access_refused"


class JiraError(DomainError):
    """Jira refused or failed a call the app made on a person's behalf."""

    code = "jira_error"


class JiraUnavailable(JiraError):
    """Jira did not answer in time or kept answering with errors; try again later.

    `retry_after` is the wait in seconds Atlassian asked for, when it named one.
    """

    code = "jira_unavailable"
    retry_after: float | None = None


class JiraAccessDenied(JiraError):
    """Jira refused the app (permission, scope, or the app is no longer installed)."""

    code = "jira_access_denied"


class JiraIssueNotFound(JiraError):
    """Jira knows no such issue, or the app may not see it."""

    code = "jira_issue_not_found"


class FieldNotOnScreen(JiraError):
    """The target field is not on the issue's edit screen, so Jira will not take a value."""

    code = "field_not_on_screen"


class EstimateNotConfirmed(JiraError):
    """Jira accepted the write but reading the field back did not show the estimate."""

    code = "estimate_not_confirmed"
