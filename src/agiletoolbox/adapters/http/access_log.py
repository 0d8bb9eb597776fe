"""An access log that never records a token: paths only, no query strings.

No header is logged either, so neither the invocation token (`Authorization`) nor
Forge's OAuth tokens (`x-forge-oauth-system`, `x-forge-oauth-user`) reach a log line.
"""

from __future__ import annotations

from aiohttp.abc import AbstractAccessLogger
from aiohttp.web import BaseRequest, StreamResponse


class PathOnlyAccessLogger(AbstractAccessLogger):
    """Logs method, path, status, size and time; the query (`jwt=`, `ticket=`) never."""

    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        """Write one line per request."""
        self.logger.info(
            "%s %s %s %s %.1fms",
            request.method,
            request.path,
            response.status,
            response.body_length,
            time * 1000,
        )
