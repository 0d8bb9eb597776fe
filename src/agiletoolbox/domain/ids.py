"""Identifiers as validated value objects.

Every id that reaches the domain has been checked once, here; past this point a `str` that
is an `AccountId` is known to be a well-formed Atlassian account id, and so on.

An id is a `str` of its own type: made only through its check, immutable, and hashed and
compared as the text it holds, by the interpreter itself. Rooms, votes and sockets are
looked up by ids on every change, and an id of a class of our own would make each of those
hashes and comparisons a Python call (see `docs/scaling.md`). The types keep ids apart
where it matters, in the code: mypy refuses a plain `str` or another kind of id where an
`AccountId` is due.
"""

from __future__ import annotations

import re
import secrets
from typing import TYPE_CHECKING, ClassVar, Self

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


class CheckedId(str):
    """A checked id: `KIND(text)` raises `InvalidValue` unless `text` matches `PATTERN`
    and is at most `MAX_LENGTH` characters."""

    __slots__ = ()

    KIND: ClassVar[str]
    PATTERN: ClassVar[re.Pattern[str]]
    MAX_LENGTH: ClassVar[int]

    def __new__(cls, value: str) -> Self:
        if (
            not isinstance(value, str)
            or len(value) > cls.MAX_LENGTH
            or not cls.PATTERN.fullmatch(value)
        ):
            raise InvalidValue(f"{cls.KIND} is not valid")
        return super().__new__(cls, value)

    if TYPE_CHECKING:

        @property
        def value(self) -> str:
            """The id as a plain `str`."""

    else:
        # The interpreter's own `str()` of the id (no Python call of ours to read it).
        value = property(str.__str__, doc="The id as a plain `str`.")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(value={str.__repr__(self)})"

    def __getnewargs__(self) -> tuple[str]:
        return (str.__str__(self),)


class TenantKey(CheckedId):
    """A tenant: the Connect clientKey of a Jira site, or its Forge installation id."""

    __slots__ = ()
    KIND, PATTERN, MAX_LENGTH = "tenant key", _TENANT_KEY, 255


class AccountId(CheckedId):
    """An Atlassian account id: opaque printable ASCII, at most 128 characters, no spaces."""

    __slots__ = ()
    KIND, PATTERN, MAX_LENGTH = "account id", _ACCOUNT_ID, 128


class IssueKey(CheckedId):
    """A Jira issue key such as `DEMO-12`."""

    __slots__ = ()
    KIND, PATTERN, MAX_LENGTH = "issue key", _ISSUE_KEY, 255

    @property
    def project(self) -> ProjectKey:
        """The key of the project the issue belongs to."""
        return ProjectKey(self.rsplit("-", 1)[0])


class ProjectKey(CheckedId):
    """A Jira project key such as `DEMO`."""

    __slots__ = ()
    KIND, PATTERN, MAX_LENGTH = "project key", _PROJECT_KEY, 255


class IssueTypeId(CheckedId):
    """A Jira issue type id (numeric string)."""

    __slots__ = ()
    KIND, PATTERN, MAX_LENGTH = "issue type id", _ISSUE_TYPE_ID, 18


class RandomId(CheckedId):
    """An id the app makes: random, URL-safe, unguessable."""

    __slots__ = ()
    PATTERN, MAX_LENGTH = _ROOM_ID, 64
    BYTES: ClassVar[int] = 16

    @classmethod
    def generate(cls) -> Self:
        """A fresh random id (128 bits of entropy)."""
        return cls(secrets.token_urlsafe(cls.BYTES))


class RoomId(RandomId):
    """A room's id."""

    __slots__ = ()
    KIND = "room id"


class SessionId(RandomId):
    """A refinement session's id."""

    __slots__ = ()
    KIND = "session id"


class FieldId(CheckedId):
    """A Jira field id: `customfield_N` or a system field id such as `timeoriginalestimate`."""

    __slots__ = ()
    KIND, PATTERN, MAX_LENGTH = "field id", _FIELD_ID, 64
