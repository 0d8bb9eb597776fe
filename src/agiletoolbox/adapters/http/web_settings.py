"""What the web layer needs to know of the deployment."""

from __future__ import annotations

from attrs import frozen

ATLASSIAN_FRAME_ANCESTORS = (
    "https://*.atlassian.net",
    "https://*.jira.com",
    "https://*.jira-dev.com",
)


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

    @property
    def frame_ancestors(self) -> tuple[str, ...]:
        """Origins allowed to frame the app's pages."""
        return ATLASSIAN_FRAME_ANCESTORS + self.extra_frame_ancestors
