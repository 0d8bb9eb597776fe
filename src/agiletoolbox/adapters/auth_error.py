"""The one shape of an authentication failure, whatever the credential.

A reason is a member of a fixed enumeration chosen by the adapter, never text from the
request, so an error can be logged or answered without carrying a token, a claim value or
a secret.
"""

from __future__ import annotations

from typing import Generic, Protocol, TypeVar


class Reason(Protocol):
    """A reason for refusing a request: a stable code and the HTTP status that fits it."""

    @property
    def value(self) -> str:
        """The stable code."""
        ...

    @property
    def status(self) -> int:
        """The HTTP status that fits the reason."""
        ...


R = TypeVar("R", bound=Reason)


class AuthError(Exception, Generic[R]):
    """A request could not be authenticated; `reason` says why, safely."""

    credential = "request"
    """What was being authenticated, for the message."""

    def __init__(self, reason: R) -> None:
        super().__init__(f"{self.credential} authentication failed: {reason.value}")
        self.reason = reason

    @property
    def code(self) -> str:
        """The reason's stable code, fit for logs and error bodies."""
        return self.reason.value

    @property
    def status(self) -> int:
        """The HTTP status that fits the reason."""
        return self.reason.status
