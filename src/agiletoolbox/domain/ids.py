"""Identifiers as validated value objects.

Every id that reaches the domain has been checked once, here; past this point a `str` that
is an `AccountId` is known to be a well-formed Atlassian account id, and so on.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from typing import ClassVar

from attrs import Attribute, field, frozen

from agiletoolbox.domain.errors import InvalidValue

# Atlassian account ids are ASCII (letters, digits, '-', ':'); printable ASCII without
# spaces keeps them opaque while refusing control characters PostgreSQL text cannot hold.
_ACCOUNT_ID = re.compile(r"[!-~]{1,128}")
_ISSUE_KEY = re.compile(r"[A-Z][A-Z0-9_]*-[1-9][0-9]*")
_PROJECT_KEY = re.compile(r"[A-Z][A-Z0-9_]*")
_ROOM_ID = re.compile(r"[A-Za-z0-9_-]{16,64}")
_FIELD_ID = re.compile(r"customfield_[1-9][0-9]{0,17}|[a-z][a-zA-Z0-9]{0,63}")
_TENANT_KEY = re.compile(r"[A-Za-z0-9:._/-]{1,255}")
_ISSUE_TYPE_ID = re.compile(r"[1-9][0-9]{0,17}")


def _checked(
    pattern: re.Pattern[str], kind: str, max_length: int
) -> Callable[[object, Attribute[str], str], None]:
    def check(_instance: object, _attribute: Attribute[str], value: str) -> None:
        if not isinstance(value, str) or len(value) > max_length or not pattern.fullmatch(value):
            raise InvalidValue(f"{kind} is not valid")

    return check


@frozen(order=True, cache_hash=True)
class TenantKey:
    """A tenant: the Connect clientKey of a Jira site, or its Forge installation id."""

    value: str = field(validator=_checked(_TENANT_KEY, "tenant key", 255))

    def __str__(self) -> str:
        return self.value


@frozen(order=True, cache_hash=True)
class AccountId:
    """An Atlassian account id: opaque printable ASCII, at most 128 characters, no spaces."""

    value: str = field(validator=_checked(_ACCOUNT_ID, "account id", 128))

    def __str__(self) -> str:
        return self.value


@frozen(order=True, cache_hash=True)
class IssueKey:
    """A Jira issue key such as `DEMO-12`."""

    value: str = field(validator=_checked(_ISSUE_KEY, "issue key", 255))

    @property
    def project(self) -> ProjectKey:
        """The key of the project the issue belongs to."""
        return ProjectKey(self.value.rsplit("-", 1)[0])

    def __str__(self) -> str:
        return self.value


@frozen(order=True, cache_hash=True)
class ProjectKey:
    """A Jira project key such as `DEMO`."""

    value: str = field(validator=_checked(_PROJECT_KEY, "project key", 255))

    def __str__(self) -> str:
        return self.value


@frozen(order=True, cache_hash=True)
class IssueTypeId:
    """A Jira issue type id (numeric string)."""

    value: str = field(validator=_checked(_ISSUE_TYPE_ID, "issue type id", 18))

    def __str__(self) -> str:
        return self.value


@frozen(order=True, cache_hash=True)
class RoomId:
    """A room's id: random, URL-safe, unguessable."""

    value: str = field(validator=_checked(_ROOM_ID, "room id", 64))

    BYTES: ClassVar[int] = 16

    @classmethod
    def generate(cls) -> RoomId:
        """A fresh random room id (128 bits of entropy)."""
        return cls(secrets.token_urlsafe(cls.BYTES))

    def __str__(self) -> str:
        return self.value


@frozen(order=True, cache_hash=True)
class SessionId:
    """A refinement session's id: random, URL-safe, unguessable (as a room's)."""

    value: str = field(validator=_checked(_ROOM_ID, "session id", 64))

    BYTES: ClassVar[int] = 16

    @classmethod
    def generate(cls) -> SessionId:
        """A fresh random session id (128 bits of entropy)."""
        return cls(secrets.token_urlsafe(cls.BYTES))

    def __str__(self) -> str:
        return self.value


@frozen(order=True, cache_hash=True)
class FieldId:
    """A Jira field id: `customfield_N` or a system field id such as `timeoriginalestimate`."""

    value: str = field(validator=_checked(_FIELD_ID, "field id", 64))

    def __str__(self) -> str:
        return self.value
