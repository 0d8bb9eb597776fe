"""A lifecycle callback delivered five times at once, as Jira's retries may: one effect.

Each event goes out five times concurrently, each copy freshly signed. Every copy gets a
success answer (Jira would otherwise retry again), and the tenant changes exactly once:
one row, and its version moves by one per distinct event, however many copies arrived.
"""

from __future__ import annotations

import asyncio

import aiohttp
import asyncpg

from agiletoolbox.simulator import JiraSimulator
from tests.reliability.conftest import Figures
from tests.reliability.kit import Fleet, call

COPIES = 5
SITE = "globex"


async def tenant_rows(database_url: str, client_key: str) -> list[tuple[str, int]]:
    connection = await asyncpg.connect(database_url)
    try:
        rows = await connection.fetch(
            "SELECT state, version FROM tenants WHERE tenant_key = $1", client_key
        )
        return [(row["state"], row["version"]) for row in rows]
    finally:
        await connection.close()


async def test_a_callback_delivered_five_times_at_once_has_one_effect(
    fleet: Fleet, jira: JiraSimulator, session: aiohttp.ClientSession, figures: Figures
) -> None:
    url = fleet.urls[0]
    status, descriptor = await call(session, "GET", f"{url}/atlassian-connect.json")
    assert status == 200
    installation = jira.register_installation(
        SITE, descriptor["key"], app_base_url=url, descriptor=descriptor
    )
    site = jira.site(SITE)

    async def five_times(event: str) -> list[int | None]:
        deliveries = await asyncio.gather(
            *(jira.lifecycle.deliver(site, installation, event) for _ in range(COPIES))
        )
        return [d.status if d is not None else None for d in deliveries]

    history: list[tuple[str, list[int | None], list[tuple[str, int]]]] = []
    for event in ("installed", "uninstalled", "installed"):
        statuses = await five_times(event)
        history.append((event, statuses, await tenant_rows(fleet.database_url, site.client_key)))
    figures(
        "lifecycle callback x5 concurrently",
        copies=COPIES,
        answers=[statuses for _, statuses, _ in history],
        tenant_after_each_event=[rows for _, _, rows in history],
    )
    for event, statuses, rows in history:
        assert all(s in (200, 204) for s in statuses), (event, statuses)
        assert len(rows) == 1, "one tenant, however many copies arrived"
    (first,), (second,), (third,) = (rows for _, _, rows in history)
    assert first[0] == "installed"
    assert second == ("uninstalled", first[1] + 1), "five uninstalls, one change"
    assert third == ("installed", second[1] + 1), "five re-installs, one change"
