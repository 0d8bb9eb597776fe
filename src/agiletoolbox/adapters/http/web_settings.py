"""What the web layer needs to know of the deployment."""

from __future__ import annotations

import random
from urllib.parse import urlsplit

from attrs import field, frozen

from agiletoolbox.adapters.http.limits import Limits

ATLASSIAN_FRAME_ANCESTORS = (
    "https://*.atlassian.net",
    "https://*.jira.com",
    "https://*.jira-dev.com",
)

FORGE_UI_ORIGINS = ("https://*.cdn.prod.atlassian-dev.net",)
"""Where Forge serves Custom UI resources (each app under a subdomain of its own): the
room page's origin when it runs as the Forge app's issue panel."""


@frozen
class WebSettings:
    """Limits and headers of the HTTP layer."""

    production: bool = False
    # Outside production the simulator's origin may frame the room page too.
    extra_frame_ancestors: tuple[str, ...] = ()
    max_body_bytes: int = 64 * 1024
    max_socket_message_bytes: int = 8 * 1024
    socket_queue_limit: int = 64
    heartbeat_seconds: float = 20.0
    # The app's own origins (its base URLs); outside production the simulator's too.
    socket_origins: tuple[str, ...] = ()
    # Wildcard origins (`https://*.suffix`) of pages that may open sockets besides
    # Atlassian's sites: Forge's Custom UI host when the Forge app is on.
    socket_origin_patterns: tuple[str, ...] = ()
    # This deployment's public base URL: where a ticket's socket connects (a Forge page
    # is served from elsewhere and must reach the deployment of its site's region).
    base_url: str | None = None
    region_name: str = "US"
    """The region this deployment serves (named on its home page)."""
    metrics_token: str | None = field(default=None, repr=False)
    """The bearer token `/metrics` asks for; unset, `/metrics` is open outside production
    and off in it."""
    limits: Limits = field(factory=Limits)
    """What one client may ask of this process."""

    def socket_heartbeat(self) -> float:
        """One socket's heartbeat: `heartbeat_seconds` less up to a fifth, at random, so
        that the sockets opened together (reconnecting after a restart) do not all ping
        together, then or ever after."""
        return self.heartbeat_seconds * random.uniform(0.8, 1.0)  # noqa: S311 - not a secret

    @property
    def frame_ancestors(self) -> tuple[str, ...]:
        """Origins allowed to frame the app's pages."""
        return ATLASSIAN_FRAME_ANCESTORS + self.extra_frame_ancestors

    def allows_socket_origin(self, origin: str | None) -> bool:
        """Whether a live socket may be opened from a page of `origin`.

        Browsers always send `Origin` on a WebSocket handshake, so a page of another site
        cannot ride on a person's credentials; a client that is not a browser sends none.
        """
        if origin is None:
            return True
        if origin in self.socket_origins:
            return True
        parts = urlsplit(origin)
        host = parts.hostname or ""
        if origin != f"https://{parts.netloc}" or parts.port is not None:
            return False  # Atlassian's pages are https on the default port, no path
        patterns = ATLASSIAN_FRAME_ANCESTORS + self.socket_origin_patterns
        suffixes = (pattern.removeprefix("https://*") for pattern in patterns)
        return any(host.endswith(suffix) and len(host) > len(suffix) for suffix in suffixes)


def origin_of(url: str) -> str:
    """`scheme://host[:port]` of a URL, as a browser names the origin of its pages."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
