"""The Forge system token store, and finding a tenant by cloud id, on memory and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from attrs import evolve

from agiletoolbox.adapters.postgres import KeyRing, PostgresDatabase, open_pool
from agiletoolbox.domain.tenant import Tenant
from agiletoolbox.ports import SystemToken, UnitOfWorkFactory
from tests.contract.kit import OTHER_SITE, SITE, T0, at, install, tenant, update
from tests.integration.database import clean, every_row_as_text

INSTALLATION = "ari:cloud:ecosystem::installation/0f8e2b5a-1c2d-4e5f-8a9b-0c1d2e3f4a5b"
REINSTALLED = "ari:cloud:ecosystem::installation/1f8e2b5a-1c2d-4e5f-8a9b-0c1d2e3f4a5b"
CLOUD = "d0d52620-3203-4cfa-8db5-f2587155f0dd"


def token(
    value: str = "system-token-1", expires_in: float = 3600, **changes: object
) -> SystemToken:
    made = SystemToken(
        tenant=SITE,
        installation_id=INSTALLATION,
        api_base_url=f"https://api.atlassian.com/ex/jira/{CLOUD}",
        token=value,
        expires_at=T0 + timedelta(seconds=expires_in),
    )
    return evolve(made, **changes)  # type: ignore[arg-type]


async def stored(uow: UnitOfWorkFactory, site: object = SITE) -> SystemToken | None:
    async with uow() as work:
        return await work.system_tokens.get(site)  # type: ignore[arg-type]


async def keep(uow: UnitOfWorkFactory, *tokens: SystemToken, commit: bool = True) -> None:
    async with uow() as work:
        for each in tokens:
            await work.system_tokens.save(each)
        if commit:
            await work.commit()


async def test_a_token_round_trips(uow: UnitOfWorkFactory) -> None:
    await install(uow, tenant(SITE), tenant(OTHER_SITE))
    assert await stored(uow) is None
    await keep(uow, token())
    assert await stored(uow) == token()
    assert await stored(uow, OTHER_SITE) is None


async def test_nothing_is_kept_without_a_commit(uow: UnitOfWorkFactory) -> None:
    await install(uow)
    await keep(uow, token(), commit=False)
    assert await stored(uow) is None


async def test_a_fresher_token_replaces_and_a_staler_one_does_not(uow: UnitOfWorkFactory) -> None:
    await install(uow)
    await keep(uow, token("first", 3600))
    await keep(uow, token("late-delivery", 1800))
    assert (await stored(uow)) == token("first", 3600)
    await keep(uow, token("next", 7200))
    assert (await stored(uow)) == token("next", 7200)


async def test_a_reinstall_replaces_the_token_whatever_its_expiry(uow: UnitOfWorkFactory) -> None:
    await install(uow)
    await keep(uow, token("old-installation", 7200))
    fresh = token("new-installation", 600, installation_id=REINSTALLED)
    await keep(uow, fresh)
    assert await stored(uow) == fresh


async def test_delete_and_the_tenant_purge_take_the_token(uow: UnitOfWorkFactory) -> None:
    await install(uow, tenant(SITE), tenant(OTHER_SITE))
    await keep(uow, token(), token(tenant=OTHER_SITE))
    async with uow() as work:
        await work.system_tokens.delete(SITE)
        await work.tenants.delete(OTHER_SITE)
        await work.commit()
    assert await stored(uow) is None
    assert await stored(uow, OTHER_SITE) is None


async def test_the_token_never_shows_in_a_repr() -> None:
    assert "system-token-1" not in repr(token())


@pytest.mark.postgres
async def test_the_token_is_encrypted_at_rest(database_url: str) -> None:
    async with open_pool(database_url, min_size=1, max_size=2) as pool:
        async with pool.acquire() as connection:
            await clean(connection)
            await connection.execute("TRUNCATE forge_tokens")
        uow = PostgresDatabase(pool, KeyRing.generate()).unit_of_work
        await install(uow)
        await keep(uow, token("plain-token-value-xyz"))
        assert (await stored(uow)) == token("plain-token-value-xyz")
        rows = await every_row_as_text(database_url)
        assert any(INSTALLATION in row for row in rows)
        assert not any("plain-token-value-xyz" in row for row in rows)
        other_keys = PostgresDatabase(pool, KeyRing.generate()).unit_of_work
        assert await stored(other_keys) is None, "a token that does not decrypt reads as none"


async def test_a_tenant_is_found_by_its_cloud_id(uow: UnitOfWorkFactory) -> None:
    site: Tenant = tenant(SITE)
    await install(uow, site, tenant(OTHER_SITE))
    async with uow() as work:
        assert await work.tenants.find_by_cloud_id(CLOUD) is None
    site.link_forge(INSTALLATION, at(5), cloud_id=CLOUD)
    await update(uow, site)
    async with uow() as work:
        found = await work.tenants.find_by_cloud_id(CLOUD)
        assert found is not None
        assert found.key == SITE
        assert await work.tenants.find_by_cloud_id(CLOUD.replace("d0d5", "e0d5")) is None
