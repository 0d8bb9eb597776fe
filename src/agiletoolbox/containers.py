"""The composition root: the one place where ports meet their adapters.

A declarative dependency-injector container builds everything from the settings. The
database pool, the listener and the HTTP client session are async resources: they are
opened by `init_resources()` and closed by `shutdown_resources()`. Tests override
providers (the store, the clock, the Jira client) instead of patching modules.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from dependency_injector import containers, providers

from agiletoolbox.adapters.clock import SystemClock
from agiletoolbox.adapters.connect.descriptor import Vendor, build_descriptor
from agiletoolbox.adapters.connect.install import LifecycleVerifier
from agiletoolbox.adapters.connect.install_keys import AiohttpKeyFetcher, InstallKeys
from agiletoolbox.adapters.connect.jwt import ConnectJwtVerifier
from agiletoolbox.adapters.forge.credentials import ForgeCredentials
from agiletoolbox.adapters.forge.invocation import InvocationTokenVerifier
from agiletoolbox.adapters.forge.jwks import AiohttpJwksFetcher, ForgeKeys
from agiletoolbox.adapters.forge.ticks import DueJobs
from agiletoolbox.adapters.http.app import create_app
from agiletoolbox.adapters.http.caller import Authenticator
from agiletoolbox.adapters.http.connect import (
    ConnectAuthenticator,
    ConnectSite,
    StoredTenantSecrets,
)
from agiletoolbox.adapters.http.forge import ForgeAuthenticator, ForgeSite
from agiletoolbox.adapters.http.limits import Limits
from agiletoolbox.adapters.http.residency import ResidencySite
from agiletoolbox.adapters.http.tickets import TicketBook
from agiletoolbox.adapters.http.web_settings import FORGE_UI_ORIGINS, WebSettings, origin_of
from agiletoolbox.adapters.jira import (
    ConnectJiraClient,
    ConnectPersonalDataReporter,
    KnownIssues,
    SignedTransport,
)
from agiletoolbox.adapters.postgres import KeyRing, event_bus_resource, key_ring
from agiletoolbox.adapters.postgres.archive import PostgresTenantArchive
from agiletoolbox.adapters.postgres.jobs import PostgresJobLock
from agiletoolbox.adapters.postgres.lifecycle import database_resource
from agiletoolbox.adapters.postgres.presence import PostgresPresence
from agiletoolbox.adapters.region.envelope import Sealer
from agiletoolbox.adapters.region.peer import HttpRegionPeer, NoPeer
from agiletoolbox.domain.retention import RetentionPolicy
from agiletoolbox.domain.tenant import Region
from agiletoolbox.ports import Clock
from agiletoolbox.ports.residency import RegionPeer
from agiletoolbox.services.errors import ErrorReportService
from agiletoolbox.services.forge import ForgeService, SystemTokens
from agiletoolbox.services.personal_data import PersonalDataService
from agiletoolbox.services.privacy import PrivacyService
from agiletoolbox.services.residency import RegionArrivals, RegionMigrations
from agiletoolbox.services.rooms import RoomService, SiteBounds
from agiletoolbox.services.sessions import SessionService
from agiletoolbox.services.tenants import TenantService
from agiletoolbox.settings import Settings

APP_NAME = "Agile Toolbox for Jira"
VENDOR = Vendor(name="Agile Toolbox", url="https://agiletoolbox.example")


async def client_session_resource() -> AsyncIterator[aiohttp.ClientSession]:
    """The process's one HTTP client session (Jira, install keys, personal data)."""
    session = aiohttp.ClientSession(raise_for_status=False)
    try:
        yield session
    finally:
        await session.close()


def retention_policy(settings: Settings) -> RetentionPolicy:
    """The retention windows the operator set."""
    return RetentionPolicy(
        uninstalled_days=settings.retention_uninstalled_days,
        idle_room_days=settings.retention_idle_room_days,
        error_report_days=settings.retention_error_report_days,
    )


def secret_keys(settings: Settings) -> KeyRing:
    """The keys secrets at rest are encrypted under."""
    return key_ring(settings.secret_key, production=settings.production, data_dir=settings.data_dir)


def ticket_key(keys: KeyRing) -> bytes:
    """A key for socket tickets, derived from the current secret key (shared by processes)."""
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"agiletoolbox socket tickets"
    ).derive(keys.keys[keys.current])


def region_urls(settings: Settings) -> dict[str, str]:
    """Every region's base URL, this deployment's own included (the descriptor's realms)."""
    urls = {region.value: url for region, url in settings.region_base_urls}
    urls.setdefault(settings.region.value, settings.base_url)
    return urls


def descriptor(settings: Settings) -> dict[str, Any]:
    """The Connect descriptor of this deployment."""
    return build_descriptor(
        app_key=settings.app_key,
        name=APP_NAME,
        base_url=settings.base_url,
        vendor=VENDOR,
        region_base_urls=region_urls(settings),
    )


def web_settings(settings: Settings) -> WebSettings:
    """The HTTP layer's limits and headers."""
    origins = [origin_of(url) for url in base_urls(settings)]
    if not settings.production:
        # The simulator serves the install keys in the demo and the tests.
        origins.append(origin_of(settings.install_keys_url))
    return WebSettings(
        production=settings.production,
        socket_origins=tuple(origins),
        socket_origin_patterns=FORGE_UI_ORIGINS if settings.forge_app_id else (),
        base_url=settings.base_url,
        region_name=settings.region.value,
        metrics_token=settings.metrics_token,
        limits=Limits(
            sockets_per_person=settings.limit_sockets_per_person,
            sockets_per_process=settings.limit_sockets_per_process,
            commands_per_second=settings.limit_commands_per_second,
            command_burst=2 * settings.limit_commands_per_second,
            requests_per_minute_person=settings.limit_requests_per_minute_person,
            requests_per_minute_site=settings.limit_requests_per_minute_site,
        ),
    )


def region_peer(settings: Settings, session: aiohttp.ClientSession, clock: Clock) -> RegionPeer:
    """The other regions' deployments, reached with the peer key (none without it)."""
    if settings.region_peer_key is None:
        return NoPeer()
    return HttpRegionPeer(
        session,
        Sealer(settings.region_peer_key),
        dict(settings.region_base_urls),
        settings.region,
        clock,
    )


def reachable_regions(settings: Settings) -> frozenset[Region]:
    """The regions a tenant may move to: those with a base URL, when a peer key is set."""
    if settings.region_peer_key is None:
        return frozenset()
    return frozenset(region for region, _ in settings.region_base_urls) - {settings.region}


def residency_site(
    settings: Settings,
    migrations: RegionMigrations,
    arrivals: RegionArrivals,
    clock: Clock,
) -> ResidencySite:
    """What the residency routes need."""
    key = settings.region_peer_key
    return ResidencySite(
        migrations=migrations,
        arrivals=arrivals,
        sealer=None if key is None else Sealer(key),
        region=settings.region,
        clock=clock,
        copies=set(),
    )


def forge_switch(settings: Settings) -> str:
    """`on` when the deployment is a Forge remote (`AGILETOOLBOX_FORGE_APP_ID` is set)."""
    return "on" if settings.forge_app_id else "off"


def authenticators_of(
    connect: ConnectAuthenticator, forge: ForgeAuthenticator | None
) -> list[Authenticator]:
    """The API's credentials: Connect's context token, and Forge's when Forge is on."""
    return [connect] if forge is None else [connect, forge]


def base_urls(settings: Settings) -> tuple[str, ...]:
    """The URLs Jira may reach this deployment at."""
    return (settings.base_url, *(url for _, url in settings.region_base_urls))


class Container(containers.DeclarativeContainer):
    """Everything the product is made of, built from `settings`."""

    settings = providers.Dependency(instance_of=Settings)

    clock = providers.Singleton(SystemClock)
    retention = providers.Singleton(retention_policy, settings)
    keys = providers.Singleton(secret_keys, settings)

    apply_migrations = providers.Object(True)
    database = providers.Resource(database_resource, settings, apply_migrations=apply_migrations)
    unit_of_work = providers.Callable(lambda database: database.unit_of_work, database)
    bus = providers.Resource(event_bus_resource, database.provided.url)
    session = providers.Resource(client_session_resource)

    transport = providers.Singleton(
        SignedTransport, session=session, app_key=settings.provided.app_key, clock=clock
    )
    system_tokens = providers.Singleton(SystemTokens, unit_of_work, clock)
    forge_credentials = providers.Singleton(ForgeCredentials, system_tokens)
    jira = providers.Singleton(
        ConnectJiraClient,
        transport,
        forge=forge_credentials,
        known=providers.Singleton(KnownIssues, clock),
    )
    personal_data = providers.Singleton(
        ConnectPersonalDataReporter,
        transport,
        settings.provided.personal_data_url,
        forge=forge_credentials,
    )

    site_bounds = providers.Factory(
        SiteBounds,
        rooms=settings.provided.limit_rooms_per_site,
        defaults=settings.provided.limit_defaults_per_site,
    )
    rooms = providers.Singleton(RoomService, unit_of_work, bus, clock, jira, site_bounds)
    sessions = providers.Singleton(
        SessionService, unit_of_work, bus, clock, jira, site_bounds, rooms
    )
    tenants = providers.Singleton(
        TenantService,
        unit_of_work,
        clock,
        retention,
        settings.provided.region,
        production=settings.provided.production,
    )
    privacy = providers.Singleton(PrivacyService, unit_of_work, bus, clock, retention)
    error_reports = providers.Singleton(ErrorReportService, unit_of_work, clock)
    job_lock = providers.Singleton(PostgresJobLock, database.provided.pool)
    reporting = providers.Singleton(
        PersonalDataService,
        unit_of_work,
        personal_data,
        privacy,
        clock,
        retention,
        errors=error_reports,
    )

    archive = providers.Singleton(
        lambda database: PostgresTenantArchive(database.pool, database.keys), database
    )
    peer = providers.Singleton(region_peer, settings, session, clock)
    region_migrations = providers.Singleton(
        RegionMigrations,
        unit_of_work,
        archive,
        peer,
        clock,
        settings.provided.region,
        providers.Callable(reachable_regions, settings),
    )
    region_arrivals = providers.Singleton(
        RegionArrivals, unit_of_work, archive, clock, settings.provided.region
    )
    residency = providers.Singleton(
        residency_site, settings, region_migrations, region_arrivals, clock
    )

    tenant_secrets = providers.Singleton(StoredTenantSecrets, unit_of_work)
    install_keys = providers.Singleton(
        InstallKeys,
        providers.Singleton(AiohttpKeyFetcher, session),
        settings.provided.install_keys_url,
    )
    verifier = providers.Singleton(
        ConnectJwtVerifier, tenant_secrets, providers.Callable(base_urls, settings)
    )
    lifecycle = providers.Singleton(
        LifecycleVerifier,
        install_keys,
        tenant_secrets,
        settings.provided.base_url,
        providers.Callable(lambda s: tuple(url for _, url in s.region_base_urls), settings),
    )
    connect = providers.Singleton(
        ConnectSite,
        providers.Callable(descriptor, settings),
        lifecycle,
        verifier,
        tenants,
        clock,
    )
    tickets = providers.Singleton(TicketBook, providers.Callable(ticket_key, keys), clock)
    forge_keys = providers.Singleton(
        ForgeKeys,
        providers.Singleton(AiohttpJwksFetcher, session),
        settings.provided.forge_jwks_url,
    )
    forge_verifier = providers.Singleton(
        InvocationTokenVerifier,
        forge_keys,
        settings.provided.forge_app_id,
        production=settings.provided.production,
    )
    forge = providers.Singleton(ForgeService, unit_of_work, tenants, system_tokens)
    forge_site = providers.Singleton(
        ForgeSite,
        forge_verifier,
        forge,
        providers.Singleton(DueJobs, privacy, reporting, job_lock, error_reports),
        clock,
    )
    forge_on = providers.Callable(forge_switch, settings)
    authenticators = providers.Callable(
        authenticators_of,
        providers.Singleton(ConnectAuthenticator, verifier, clock),
        providers.Selector(
            forge_on,
            on=providers.Singleton(
                ForgeAuthenticator, forge_verifier, unit_of_work, system_tokens, clock
            ),
            off=providers.Object(None),
        ),
    )
    ready = providers.Callable(lambda database: database.ready, database)
    presence = providers.Singleton(PostgresPresence, database.provided.pool)

    app = providers.Singleton(
        create_app,
        rooms_service=rooms,
        sessions_service=sessions,
        error_reports=error_reports,
        bus=bus,
        authenticators=authenticators,
        tickets=tickets,
        ready=ready,
        settings=providers.Callable(web_settings, settings),
        connect=connect,
        residency=residency,
        forge=providers.Selector(forge_on, on=forge_site, off=providers.Object(None)),
        presence=presence,
    )
