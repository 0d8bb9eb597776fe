"""What the simulator saw: every request made to it, and every lifecycle call it sent."""

from __future__ import annotations

from typing import Any

from attrs import define, field, frozen

APP = "app"
"""A request signed with the app's JWT (from the app's server)."""
BROWSER = "browser"
"""A request in a signed-in person's browser session (the iframe, through the host page)."""
ANONYMOUS = "anonymous"
"""A request with neither."""


@frozen
class RecordedRequest:
    """One request to a site's REST API or the personal-data API.

    `site` is None for the personal-data API; `path` is relative to the site's base URL
    and carries no query (so no token); `jwt_valid` says whether an app JWT was present
    and verified, and `failure` why not.
    """

    site: str | None
    method: str
    path: str
    caller: str
    jwt_valid: bool
    status: int
    failure: str | None = None
    names_served: bool = False
    """Whether the answer carried people's names, e-mails or avatars."""


@frozen
class Delivery:
    """One lifecycle call the simulator made to the app, and how the app answered."""

    site: str
    event: str
    url: str = field(repr=False)
    algorithm: str
    status: int | None
    payload: dict[str, Any] = field(repr=False)
    error: str | None = None

    @property
    def succeeded(self) -> bool:
        """Whether the app answered 200 or 204."""
        return self.status in (200, 204)


@define
class Recorder:
    """The log of requests and deliveries, in order."""

    requests: list[RecordedRequest] = field(factory=list)
    deliveries: list[Delivery] = field(factory=list)

    def of_site(self, site: str) -> list[RecordedRequest]:
        """The requests made to one site."""
        return [r for r in self.requests if r.site == site]

    def names_served_to_app(self) -> list[RecordedRequest]:
        """Requests signed by the app whose answers carried people's names (should be none)."""
        return [r for r in self.requests if r.caller == APP and r.names_served]

    def clear(self) -> None:
        """Forget everything recorded so far."""
        self.requests.clear()
        self.deliveries.clear()
