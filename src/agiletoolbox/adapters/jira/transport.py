"""Signed HTTP calls to Atlassian: a fresh JWT per request, bounded retries, wary reading.

Every request is signed for itself (connect.md §5.1): HS256 with the tenant's shared
secret, `iss` the app key, a three-minute expiry, and the `qsh` of that very method, path
and query taken relative to the site's base URL. A Forge call carries a bearer token
instead (forge-remote.md §2.3), sent to the invocation's API base URL. The URL is sent
exactly as it was signed (`yarl.URL(url, encoded=True)`), redirects are not followed (a
token is never carried to another URL), and every attempt has a timeout.

429 and 503 are retried after the `Retry-After` the answer names (seconds or an HTTP
date), else after a short exponential backoff: at most `max_attempts` attempts in all,
and never a wait longer than `max_retry_wait` - a longer wait is handed to the caller as
`JiraBusy` with the hint, since retrying early only earns another refusal.

Answers are hostile input: bodies are read up to a size limit and parsed as strict JSON
(no duplicate names, no NaN). Exceptions and log lines carry the method, the path and
the status only - never a URL's query, a header, or a token.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote

import aiohttp
import yarl
from attrs import field, frozen

from agiletoolbox.adapters import strict_json
from agiletoolbox.adapters.clock import SystemClock
from agiletoolbox.adapters.connect.outgoing import outgoing_authorization
from agiletoolbox.domain.errors import JiraUnavailable
from agiletoolbox.ports.clock import Clock

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_SECONDS = 10.0
DEFAULT_MAX_ATTEMPTS = 3
DEFAULT_MAX_RETRY_WAIT_SECONDS = 10.0
MAX_BODY_BYTES = 2 * 1024 * 1024
"""Larger than any edit metadata or issue the app asks for, small enough to hold."""

RETRIED_STATUSES = frozenset({429, 503})
USER_AGENT = "agiletoolbox (Atlassian Connect app)"

_SECONDS = re.compile(r"[0-9]{1,9}")
_LONGEST_HINT = 24 * 3600.0

Sleep = Callable[[float], Awaitable[None]]


class JiraBusy(JiraUnavailable):
    """Atlassian asked the app to come back later (429 or 503) and the retries ran out.

    `retry_after` is the wait in seconds Atlassian asked for, when it named one.
    """

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@frozen
class JiraResponse:
    """One answer: its status, its body parsed as JSON (None when empty or unreadable)."""

    status: int
    body: Any = field(repr=False)
    headers: Mapping[str, str] = field(factory=dict, repr=False)
    readable: bool = True

    @property
    def ok(self) -> bool:
        """Whether the status is 2xx."""
        return 200 <= self.status < 300

    def header(self, name: str) -> str | None:
        """The first value of a header (names are case-insensitive)."""
        return self.headers.get(name.lower())


def encode_query(params: Sequence[tuple[str, str]]) -> str:
    """The query string of `params`, each part percent-encoded the RFC 3986 way."""
    return "&".join(f"{quote(name, safe='')}={quote(value, safe='')}" for name, value in params)


def site_url(base_url: str, path: str, params: Sequence[tuple[str, str]] = ()) -> str:
    """The absolute URL of `path` (already encoded) on the site at `base_url`."""
    query = encode_query(params)
    return f"{base_url.rstrip('/')}{path}" + (f"?{query}" if query else "")


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """`Retry-After` in seconds from `now` (delay-seconds or an HTTP date), or None."""
    if value is None:
        return None
    text = value.strip()
    if _SECONDS.fullmatch(text):
        return min(float(text), _LONGEST_HINT)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return min(max(0.0, (when - now).total_seconds()), _LONGEST_HINT)


def parse_json(data: bytes) -> tuple[Any, bool]:
    """`(value, True)` for strict JSON, `(None, True)` for nothing, `(None, False)` else."""
    if not data.strip():
        return None, True
    try:
        value = strict_json.loads(data)
    except ValueError:
        return None, False
    return value, True


async def read_limited(response: aiohttp.ClientResponse, limit: int) -> bytes:
    """The body of `response`; `JiraUnavailable` when it is longer than `limit` bytes."""
    declared = response.content_length
    if declared is not None and declared > limit:
        raise JiraUnavailable("Jira answered with more data than the app accepts")
    chunks: list[bytes] = []
    total = 0
    async for chunk in response.content.iter_chunked(64 * 1024):
        total += len(chunk)
        if total > limit:
            raise JiraUnavailable("Jira answered with more data than the app accepts")
        chunks.append(chunk)
    return b"".join(chunks)


def _busy_message(status: int, wait: float | None) -> str:
    what = "Jira is limiting the app's requests" if status == 429 else "Jira is unavailable"
    if wait is None:
        return f"{what}; try again in a moment"
    return f"{what}; try again in {max(1, round(wait))} seconds"


@frozen
class SignedTransport:
    """Sends JWT-signed requests with the process's one `aiohttp.ClientSession`.

    The session belongs to the composition root, which closes it; `sleep` and `clock`
    are injectable so tests neither wait nor depend on the time.
    """

    session: aiohttp.ClientSession
    app_key: str
    clock: Clock = field(factory=SystemClock)
    timeout: float = DEFAULT_TIMEOUT_SECONDS
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    max_retry_wait: float = DEFAULT_MAX_RETRY_WAIT_SECONDS
    max_body_bytes: int = MAX_BODY_BYTES
    sleep: Sleep = asyncio.sleep

    async def request(
        self,
        method: str,
        *,
        base_url: str,
        path: str,
        secret: str = "",
        params: Sequence[tuple[str, str]] = (),
        json_body: object = None,
        retry: bool = True,
        bearer: str | None = None,
    ) -> JiraResponse:
        """Send `method` on `path` of the site (or service) at `base_url`, signed.

        Signed with `secret`, or sent with `Authorization: Bearer <bearer>` when a bearer
        is given. `path` must already be percent-encoded; `params` are encoded here. 429 and 503
        are retried when `retry` (see the module docstring) and end in `JiraBusy`;
        timeouts and connection failures end in `JiraUnavailable`. Any other status is
        the caller's to judge.
        """
        url = site_url(base_url, path, params)
        data = None
        if json_body is not None:
            data = json.dumps(json_body, separators=(",", ":"), allow_nan=False).encode()
        attempts = max(1, self.max_attempts) if retry else 1
        attempt = 1
        while True:
            response = await self._once(method, url, base_url, secret, data, bearer)
            if response.status not in RETRIED_STATUSES:
                return response
            hint = parse_retry_after(response.header("Retry-After"), self.clock.now())
            wait = hint if hint is not None else self._backoff(attempt)
            if attempt >= attempts or wait > self.max_retry_wait:
                raise JiraBusy(_busy_message(response.status, hint), hint)
            log.info(
                "Jira answered %s to %s %s; attempt %s of %s in %.1f s",
                response.status,
                method,
                path,
                attempt + 1,
                attempts,
                wait,
            )
            await self.sleep(wait)
            attempt += 1

    def _backoff(self, attempt: int) -> float:
        # Exponential with jitter when Jira names no wait (Atlassian's advice).
        base: float = min(self.max_retry_wait, 0.5 * 2.0 ** (attempt - 1))
        return base * (0.5 + random.random() / 2)  # noqa: S311 - jitter, not a secret

    async def _once(
        self,
        method: str,
        url: str,
        base_url: str,
        secret: str,
        data: bytes | None,
        bearer: str | None = None,
    ) -> JiraResponse:
        headers = {
            "Authorization": f"Bearer {bearer}"
            if bearer is not None
            else outgoing_authorization(
                app_key=self.app_key,
                shared_secret=secret,
                method=method,
                url=url,
                tenant_base_url=base_url,
                now=self.clock.now(),
            ),
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
        }
        if data is not None:
            headers["Content-Type"] = "application/json"
        try:
            async with self.session.request(
                method,
                yarl.URL(url, encoded=True),
                headers=headers,
                data=data,
                timeout=aiohttp.ClientTimeout(total=self.timeout),
                allow_redirects=False,
            ) as response:
                raw = await read_limited(response, self.max_body_bytes)
                status = response.status
                answer_headers = {
                    name.lower(): value for name, value in reversed(list(response.headers.items()))
                }
        except TimeoutError:
            raise JiraUnavailable("Jira did not answer in time; try again in a moment") from None
        except aiohttp.ClientError:
            # The exception would carry the request, headers and all: it is not chained.
            raise JiraUnavailable("Jira could not be reached; try again in a moment") from None
        body, readable = parse_json(raw)
        return JiraResponse(status, body, answer_headers, readable)
