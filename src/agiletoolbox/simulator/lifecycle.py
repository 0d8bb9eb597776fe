"""Installing the app the way Jira Cloud does: descriptor, signed lifecycle callbacks.

`install` fetches `<app>/atlassian-connect.json`, picks the base URL (the regional one
of `regionBaseUrls` when the site is pinned to a realm the app serves, else `baseUrl`),
and POSTs `installed` to the descriptor's lifecycle path with the payload of connect.md
§2.1 - signed RS256 by the install keys, `kid` in the header, `iss` the client key, `aud`
the app's base URL, `qsh` over that request. Only a 200 or 204 installs the app; then
`enabled` follows, signed HS256 with the new shared secret. A re-install keeps the
secret unless asked to rotate it. `uninstall` sends `disabled` (HS256) and then
`uninstalled` (RS256) - or both at once, as Jira sometimes races them. Any delivery can
be sent again (`redeliver`), as Jira retries. The simulator installs only apps that opt
into `signed-install`; it does not enforce Jira's rule that descriptors be served on
port 80, 443 or 8080, so tests may use any port.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from attrs import define

from agiletoolbox.simulator.cloud import Cloud
from agiletoolbox.simulator.outbound import send_json
from agiletoolbox.simulator.pages import CONNECT_VERSION
from agiletoolbox.simulator.qsh import query_string_hash
from agiletoolbox.simulator.record import Delivery
from agiletoolbox.simulator.site import Installation, Site
from agiletoolbox.simulator.tokens import encode_hs256

DESCRIPTOR_PATH = "/atlassian-connect.json"
SERVER_VERSION = "100280"
LIFECYCLE_TOKEN_SECONDS = 180
TIMEOUT_SECONDS = 10.0
MAX_DESCRIPTOR_BYTES = 1024 * 1024
SIGNED_EVENTS = frozenset({"installed", "uninstalled"})
EVENTS = ("installed", "enabled", "disabled", "uninstalled")


class InstallFailed(Exception):
    """Jira could not install the app: no usable descriptor, or `installed` was refused."""


async def _read(response: aiohttp.ClientResponse) -> bytes:
    data = b""
    async for chunk in response.content.iter_chunked(64 * 1024):
        data += chunk
        if len(data) > MAX_DESCRIPTOR_BYTES:
            raise InstallFailed("the descriptor is too large")
    return data


def _checked_descriptor(data: bytes) -> dict[str, Any]:
    try:
        descriptor = json.loads(data)
    except ValueError:
        raise InstallFailed("the descriptor is not JSON") from None
    if not isinstance(descriptor, dict):
        raise InstallFailed("the descriptor is not a JSON object")
    authentication = descriptor.get("authentication")
    lifecycle = descriptor.get("lifecycle")
    migrations = descriptor.get("apiMigrations")
    if not isinstance(descriptor.get("key"), str) or not isinstance(descriptor.get("baseUrl"), str):
        raise InstallFailed("the descriptor needs a key and a baseUrl")
    if not isinstance(authentication, dict) or str(authentication.get("type")).lower() != "jwt":
        raise InstallFailed("the descriptor must use JWT authentication")
    if not isinstance(lifecycle, dict) or not isinstance(lifecycle.get("installed"), str):
        raise InstallFailed("the descriptor declares no installed callback")
    if not isinstance(migrations, dict) or migrations.get("signed-install") is not True:
        raise InstallFailed("the simulator installs only apps with signed-install")
    return descriptor


def chosen_base_url(site: Site, descriptor: dict[str, Any]) -> str:
    """The base URL Jira installs the app at for this site (realm pinning, §8)."""
    regions = descriptor.get("regionBaseUrls")
    if site.realm and isinstance(regions, dict) and isinstance(regions.get(site.realm), str):
        return str(regions[site.realm])
    return str(descriptor["baseUrl"])


def payload(site: Site, installation: Installation, event: str) -> dict[str, Any]:
    """The JSON body of a lifecycle callback (connect.md §2.1)."""
    body: dict[str, Any] = {
        "key": installation.app_key,
        "clientKey": site.client_key,
        "serverVersion": SERVER_VERSION,
        "pluginsVersion": CONNECT_VERSION,
        "baseUrl": site.base_url,
        "displayUrl": site.base_url,
        "displayUrlServicedeskHelpCenter": site.base_url,
        "productType": "jira",
        "description": f"Atlassian JIRA at {site.base_url}",
        "eventType": event,
        "oauthClientId": installation.oauth_client_id,
    }
    if event == "installed":
        body["sharedSecret"] = installation.shared_secret
    if installation.installation_id is not None:
        body["installationId"] = installation.installation_id
    return body


def hook_claims(
    site: Site, installation: Installation, method: str, url: str, now: int
) -> dict[str, Any]:
    """The claims of a call from Jira to the app: the site, its `qsh`, three minutes."""
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    return {
        "iss": site.client_key,
        "qsh": query_string_hash(method, target, urlsplit(installation.app_base_url).path),
        "context": {},
        "iat": now,
        "exp": now + LIFECYCLE_TOKEN_SECONDS,
    }


@define
class Lifecycle:
    """Sends the lifecycle callbacks; `session` gives the simulator's HTTP client."""

    cloud: Cloud
    session: Callable[[], aiohttp.ClientSession]

    async def fetch_descriptor(self, app_url: str) -> dict[str, Any]:
        """The app's descriptor from `<app_url>/atlassian-connect.json`."""
        url = app_url.rstrip("/") + DESCRIPTOR_PATH
        try:
            async with self.session().get(
                url, timeout=aiohttp.ClientTimeout(total=TIMEOUT_SECONDS), allow_redirects=False
            ) as response:
                if response.status != 200:
                    raise InstallFailed(f"the descriptor answered HTTP {response.status}")
                data = await _read(response)
        except (aiohttp.ClientError, TimeoutError):
            raise InstallFailed("the descriptor could not be fetched") from None
        return _checked_descriptor(data)

    async def install(
        self, site: Site, app_url: str, *, rotate_secret: bool = False
    ) -> Installation:
        """Install (or re-install) the app served at `app_url`; `InstallFailed` if refused."""
        descriptor = await self.fetch_descriptor(app_url)
        app_key = descriptor["key"]
        previous = site.installations.get(app_key)
        keep = previous is not None and previous.state != "uninstalled" and not rotate_secret
        installation = Installation(
            app_key=app_key,
            app_base_url=chosen_base_url(site, descriptor),
            descriptor=descriptor,
            shared_secret=previous.shared_secret
            if keep and previous
            else secrets.token_urlsafe(48),
            oauth_client_id=previous.oauth_client_id if previous else str(uuid.uuid4()),
            installation_id=site.installation_ari if site.connect_on_forge else None,
        )
        delivery = await self.deliver(site, installation, "installed")
        if delivery is None or not delivery.succeeded:
            status = delivery.status if delivery else None
            raise InstallFailed(f"the app answered {status} to the installed callback")
        site.installations[app_key] = installation
        await self.enable(site, app_key)
        return installation

    async def enable(self, site: Site, app_key: str | None = None) -> Delivery | None:
        """Enable the app and send `enabled`."""
        installation = site.installation(app_key)
        installation.state = "enabled"
        return await self.deliver(site, installation, "enabled")

    async def disable(self, site: Site, app_key: str | None = None) -> Delivery | None:
        """Disable the app and send `disabled`."""
        installation = site.installation(app_key)
        installation.state = "disabled"
        return await self.deliver(site, installation, "disabled")

    async def uninstall(
        self, site: Site, app_key: str | None = None, *, race: bool = False
    ) -> list[Delivery | None]:
        """Send `disabled` then `uninstalled` (both at once with `race`); forget the app."""
        installation = site.installation(app_key)
        if race:
            sent = await asyncio.gather(
                self.deliver(site, installation, "disabled"),
                self.deliver(site, installation, "uninstalled"),
            )
            deliveries = list(sent)
        else:
            deliveries = [
                await self.deliver(site, installation, "disabled"),
                await self.deliver(site, installation, "uninstalled"),
            ]
        installation.state = "uninstalled"
        return deliveries

    async def redeliver(
        self, site: Site, event: str, app_key: str | None = None, times: int = 1
    ) -> list[Delivery | None]:
        """Send `event` again `times` times, freshly signed, as Jira's retries do."""
        installation = site.installation(app_key)
        return [await self.deliver(site, installation, event) for _ in range(times)]

    def _token(self, site: Site, installation: Installation, event: str, url: str) -> str:
        claims = hook_claims(site, installation, "POST", url, int(self.cloud.clock()))
        if event in SIGNED_EVENTS:
            claims["aud"] = [installation.app_base_url]
            return self.cloud.keys.sign(claims)
        return encode_hs256(claims, installation.shared_secret)

    async def deliver(self, site: Site, installation: Installation, event: str) -> Delivery | None:
        """POST one lifecycle callback; None when the descriptor declares no such callback."""
        if event not in EVENTS:
            raise ValueError(f"unknown lifecycle event {event!r}")
        path = installation.descriptor.get("lifecycle", {}).get(event)
        if not isinstance(path, str):
            return None
        url = installation.app_base_url.rstrip("/") + path
        body = payload(site, installation, event)
        token = self._token(site, installation, event, url)
        sent = await send_json(
            self.session(),
            "POST",
            url,
            body,
            {
                "Authorization": f"JWT {token}",
                "Content-Type": "application/json",
                "User-Agent": f"Atlassian Connect/{CONNECT_VERSION}",
            },
            seconds=TIMEOUT_SECONDS,
        )
        delivery = Delivery(
            site=site.name,
            event=event,
            url=url,
            algorithm="RS256" if event in SIGNED_EVENTS else "HS256",
            status=sent.status,
            payload=body,
            error=sent.error,
        )
        self.cloud.recorder.deliveries.append(delivery)
        return delivery
