"""Atlassian's realm-migration service, as it drives an app's `dare-migration` hooks.

It runs while the site is offline (connect.md §8): `POST /schedule` and `POST /start`
with `{startTime, endTime, location, migrationId}`, then `GET /status?migrationId=`
every `poll_seconds` (five minutes at Atlassian) until `ready-to-commit` or `failed`,
then `POST /commit` - or `POST /rollback` for anything but `ready-to-commit`, for an
answer carrying an `errorResponseCode`, or when the window ends. A non-2xx answer
without a code is retried up to twice, `retry_seconds` apart (five at Atlassian). Every
call is signed HS256 with the site's shared secret, `qsh` bound to the request. After a
commit the site is pinned to the new realm and the app is reached at its regional URL.

For a Forge app (`forge=True`) the same hooks go to the manifest's
`migration:dataResidency` path on the remote, each with an invocation token.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import aiohttp
from attrs import define, field

from agiletoolbox.simulator.cloud import Cloud
from agiletoolbox.simulator.forge import ForgePlatform
from agiletoolbox.simulator.lifecycle import TIMEOUT_SECONDS, hook_claims
from agiletoolbox.simulator.outbound import send_json
from agiletoolbox.simulator.site import Installation, Site
from agiletoolbox.simulator.tokens import encode_hs256

RETRIES = 2


@define
class HookCall:
    """One call the migration service made, and what the app answered."""

    hook: str
    status: int | None
    body: dict[str, Any] | None


@define
class MigrationRun:
    """How a migration went: `outcome` is `committed`, `rolled-back` or `refused`."""

    migration_id: int
    location: str
    outcome: str = "refused"
    error_code: str | None = None
    calls: list[HookCall] = field(factory=list)

    def hooks(self) -> list[str]:
        """The hooks called, in order (retries included)."""
        return [call.hook for call in self.calls]


class HookFailed(Exception):
    """A hook answered with an `errorResponseCode` (no retry) or failed every retry."""

    def __init__(self, code: str | None) -> None:
        super().__init__(code or "no answer")
        self.code = code


@define
class RealmMigrations:
    """Drives the hooks of one app on one site."""

    cloud: Cloud
    session: Callable[[], aiohttp.ClientSession]
    forge: ForgePlatform | None = None
    forge_path: str = "/forge/dare"
    poll_seconds: float = 300.0
    retry_seconds: float = 5.0
    window: timedelta = timedelta(hours=1, minutes=30)
    _next_id: int = 57500

    async def migrate(
        self,
        site: Site,
        location: str,
        *,
        app_key: str | None = None,
        commit: bool = True,
        forge: bool = False,
    ) -> MigrationRun:
        """Move the app's data for `site` to `location`; `commit=False` rolls back at the
        end instead (a customer cancelling); `forge` drives the Forge app's hooks."""
        installation = self._forge_hooks(site) if forge else site.installation(app_key)
        self._next_id += 1
        run = MigrationRun(migration_id=self._next_id, location=location)
        start = datetime.now(UTC)
        plan = {
            "startTime": start.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "endTime": (start + self.window)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "location": location,
            "migrationId": run.migration_id,
        }
        deadline = asyncio.get_running_loop().time() + self.window.total_seconds()
        try:
            await self._call(site, installation, run, "POST", "schedule", plan)
            await self._call(site, installation, run, "POST", "start", plan)
            status = await self._poll(site, installation, run, deadline)
        except HookFailed as failure:
            run.error_code = failure.code
            status = "failed"
        if status == "ready-to-commit" and commit:
            try:
                await self._call(
                    site, installation, run, "POST", "commit", {"migrationId": run.migration_id}
                )
            except HookFailed as failure:
                run.error_code = failure.code
            else:
                run.outcome = "committed"
                site.realm = location
                regional = installation.descriptor.get("regionBaseUrls", {}).get(location)
                if isinstance(regional, str):
                    installation.app_base_url = regional
                return run
        try:
            await self._call(
                site, installation, run, "POST", "rollback", {"migrationId": run.migration_id}
            )
            run.outcome = "rolled-back"
        except HookFailed as failure:
            run.error_code = run.error_code or failure.code
        return run

    def _forge_hooks(self, site: Site) -> Installation:
        """The Forge remote seen as an installation whose hooks take invocation tokens."""
        if self.forge is None or site.name not in self.forge.installs:
            raise HookFailed("E0003")
        install = self.forge.installs[site.name]
        return Installation(
            app_key="forge",
            app_base_url=install.app_url,
            descriptor={"lifecycle": {"dare-migration": self.forge_path}},
            shared_secret="",
            oauth_client_id="",
        )

    async def _poll(
        self, site: Site, installation: Installation, run: MigrationRun, deadline: float
    ) -> str:
        loop = asyncio.get_running_loop()
        while True:
            answer = await self._call(
                site, installation, run, "GET", "status", {"migrationId": run.migration_id}
            )
            status = str(answer.get("status"))
            if status == "failed":
                run.error_code = answer.get("errorResponseCode")
                return status
            if status == "ready-to-commit" or loop.time() >= deadline:
                return status
            await asyncio.sleep(self.poll_seconds)

    async def _call(
        self,
        site: Site,
        installation: Installation,
        run: MigrationRun,
        method: str,
        hook: str,
        body: dict[str, Any],
    ) -> dict[str, Any]:
        base = installation.descriptor.get("lifecycle", {}).get("dare-migration")
        if not isinstance(base, str):
            raise HookFailed("E0003")
        url = installation.app_base_url.rstrip("/") + base.rstrip("/") + "/" + hook
        if method == "GET":
            url += "?" + urlencode(body)
        for attempt in range(RETRIES + 1):
            if attempt:
                await asyncio.sleep(self.retry_seconds)
            status, answer = await self._send(site, installation, method, url, body)
            run.calls.append(HookCall(hook, status, answer))
            if status is not None and 200 <= status < 300:
                return answer or {}
            code = (answer or {}).get("errorResponseCode")
            if isinstance(code, str):
                raise HookFailed(code)
        raise HookFailed(None)

    async def _send(
        self, site: Site, installation: Installation, method: str, url: str, body: dict[str, Any]
    ) -> tuple[int | None, dict[str, Any] | None]:
        if installation.app_key == "forge" and self.forge is not None:
            authorization = f"Bearer {self.forge.invocation_token(site.name)}"
        else:
            claims = hook_claims(site, installation, method, url, int(self.cloud.clock()))
            authorization = f"JWT {encode_hs256(claims, installation.shared_secret)}"
        headers = {"Authorization": authorization, "Content-Type": "application/json"}
        sent = await send_json(
            self.session(), method, url, body, headers, seconds=TIMEOUT_SECONDS * 6
        )
        if sent.status is None:
            return None, None
        try:
            answer = json.loads(sent.data) if sent.data else {}
        except ValueError:
            answer = {}
        return sent.status, answer if isinstance(answer, dict) else {}
