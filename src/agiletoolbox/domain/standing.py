"""Where a site stands with this deployment: its region, product and lifecycle state.

`TenantStanding` is the part of a tenant that decides whether the site may be served now;
every use case checks it, and it can be read without the tenant's secrets.
"""

from __future__ import annotations

from enum import Enum
from typing import TypeVar

from attrs import frozen

from agiletoolbox.domain.errors import AccessRefused, InvalidValue

_E = TypeVar("_E", bound=Enum)


def _member(kind: type[_E], text: str, what: str) -> _E:
    if isinstance(text, str):
        for member in kind:
            if member.value.casefold() == text.strip().casefold():
                return member
    raise InvalidValue(f"{what} is not known")


class Region(Enum):
    """A data-residency region; each deployment serves exactly one."""

    US = "US"
    EU = "EU"

    @classmethod
    def parse(cls, text: str) -> Region:
        """The region named by `text` (`US` or `EU`, any case); `InvalidValue` otherwise."""
        return _member(cls, text, "the region")


class ProductType(Enum):
    """The Atlassian product the app is installed into."""

    JIRA = "jira"
    CONFLUENCE = "confluence"

    @classmethod
    def parse(cls, text: str) -> ProductType:
        """The product named by `text` (any case); `InvalidValue` otherwise."""
        return _member(cls, text, "the product type")


class TenantState(Enum):
    """Where a tenant is in its lifecycle."""

    INSTALLED = "installed"
    ENABLED = "enabled"
    DISABLED = "disabled"
    UNINSTALLED = "uninstalled"


@frozen
class TenantStanding:
    """Whether a site may be served: its lifecycle state and the region it is moving to."""

    state: TenantState
    moving_to: Region | None = None

    @property
    def accessible(self) -> bool:
        """Whether the site may be served: installed or enabled, not disabled or uninstalled.

        Jira sends `enabled` right after `installed`, so an installed tenant already counts
        as enabled; waiting for the second call would only fail the first page loads.
        While the tenant moves to another region nobody is served, so that no change
        made here after the copy is lost when the move commits.
        """
        return self.moving_to is None and self.state in (
            TenantState.INSTALLED,
            TenantState.ENABLED,
        )

    def require_accessible(self) -> None:
        """Return quietly when the site may be served; `AccessRefused` otherwise."""
        if not self.accessible:
            raise AccessRefused("this Jira site may not use the app")
