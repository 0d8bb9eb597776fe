"""Calling the simulator's REST API the way the app does, or the way an attacker would."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import aiohttp
import yarl
from attrs import frozen

from agiletoolbox.adapters.connect.outgoing import mint_outgoing_token
from agiletoolbox.simulator import JiraSimulator

APP_KEY = "agile-toolbox"


@frozen
class Answer:
    """A response, read."""

    status: int
    headers: dict[str, str]
    body: Any


def app_token(jira: JiraSimulator, method: str, url: str, *, site: str = "acme") -> str:
    """The token the app signs for `method` on `url` with the site's secret."""
    the_site = jira.site(site)
    return mint_outgoing_token(
        app_key=APP_KEY,
        shared_secret=the_site.installation(APP_KEY).shared_secret,
        method=method,
        url=url,
        tenant_base_url=the_site.base_url,
        now=datetime.now(UTC),
    )


async def call(
    http: aiohttp.ClientSession,
    jira: JiraSimulator,
    method: str,
    path: str,
    *,
    site: str = "acme",
    token: str | None = None,
    sign: bool = True,
    json: object = None,
    headers: dict[str, str] | None = None,
) -> Answer:
    """`method` on `path` (relative to the site), signed as the app unless told otherwise."""
    url = jira.site(site).base_url + path
    sent = dict(headers or {})
    if token is None and sign:
        token = app_token(jira, method, url, site=site)
    if token is not None:
        sent["Authorization"] = f"JWT {token}"
    async with http.request(
        method, yarl.URL(url, encoded=True), headers=sent, json=json
    ) as response:
        text = await response.text()
        body = await response.json() if text and response.content_type.endswith("json") else text
        return Answer(response.status, dict(response.headers), body)
