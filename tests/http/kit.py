"""A real aiohttp server over in-memory adapters, with a test authenticator."""

from __future__ import annotations

from aiohttp import web
from attrs import evolve

from agiletoolbox.adapters.http.app import create_app
from agiletoolbox.adapters.http.caller import Caller, NotAuthenticated
from agiletoolbox.adapters.http.limits import Limits
from agiletoolbox.adapters.http.tickets import TicketBook
from agiletoolbox.adapters.http.web_settings import WebSettings
from agiletoolbox.adapters.memory import ManualClock, MemoryEventBus, MemoryJira, MemoryStore
from agiletoolbox.domain.estimate import FieldSpec, FieldType
from agiletoolbox.domain.ids import AccountId, IssueKey, ProjectKey, TenantKey
from agiletoolbox.domain.tenant import ProductType, Region, Tenant
from agiletoolbox.ports.presence import PresenceBoard
from agiletoolbox.services.errors import ErrorReportService
from agiletoolbox.services.rooms import RoomService
from agiletoolbox.services.sessions import SessionService
from tests.unit.roomkit import ISSUE, STORY_POINTS, T0

TENANT_A = TenantKey("tenant-a")
TENANT_B = TenantKey("tenant-b")


class HeaderAuthenticator:
    """`Authorization: Test <tenant> <account> [issue | project]`: stands in for a verified
    token (a context naming an issue, such as DEMO-1, or a project page's, such as DEMO)."""

    def claims(self, request: web.Request) -> bool:
        return request.headers.get("Authorization", "").startswith("Test ")

    async def authenticate(self, request: web.Request) -> Caller:
        parts = request.headers["Authorization"].split()[1:]
        if len(parts) not in (2, 3) or parts[0] == "bad":
            raise NotAuthenticated("invalid token")
        context = parts[2] if len(parts) == 3 else None
        if context is not None and "-" not in context:
            return Caller(TenantKey(parts[0]), AccountId(parts[1]), project_key=ProjectKey(context))
        issue = IssueKey(context) if context is not None else None
        return Caller(TenantKey(parts[0]), AccountId(parts[1]), issue)


def auth(tenant: TenantKey, account: AccountId, issue: IssueKey | None = None) -> dict[str, str]:
    """Headers for a caller."""
    value = f"Test {tenant} {account}" + (f" {issue}" if issue else "")
    return {"Authorization": value}


def scoped(headers: dict[str, str], issue: str) -> dict[str, str]:
    """`headers` of a token whose context names `issue` (what opening its room needs)."""
    return {**headers, "Authorization": f"{headers['Authorization']} {issue}"}


class Backend:
    """The in-memory world behind the app."""

    def __init__(self) -> None:
        self.store = MemoryStore()
        self.bus = MemoryEventBus()
        self.clock = ManualClock(T0)
        self.jira = MemoryJira()
        for key in (TENANT_A, TENANT_B):
            self.store.tenants[key] = Tenant.install(
                key=key,
                base_url=f"https://{key.value}.atlassian.net",
                shared_secret="z" * 32,
                product_type=ProductType.JIRA,
                region=Region.US,
                now=T0,
            )
            self.jira.add_issue(key, ISSUE, FieldSpec(STORY_POINTS, FieldType.NUMBER))
            for number in range(2, 13):
                self.jira.add_issue(key, IssueKey(f"DEMO-{number}"))
        self.rooms = RoomService(self.store.unit_of_work, self.bus, self.clock, self.jira)
        self.sessions = SessionService(self.store.unit_of_work, self.bus, self.clock, self.jira)
        self.errors = ErrorReportService(self.store.unit_of_work, self.clock)
        self.tickets = TicketBook(b"k" * 32, self.clock)
        self.ready = True

    def app(
        self, settings: WebSettings | None = None, presence: PresenceBoard | None = None
    ) -> web.Application:
        async def ready() -> bool:
            return self.ready

        return create_app(
            rooms_service=self.rooms,
            sessions_service=self.sessions,
            error_reports=self.errors,
            bus=self.bus,
            authenticators=[HeaderAuthenticator()],
            tickets=self.tickets,
            ready=ready,
            settings=without_default_limits(settings or WebSettings(heartbeat_seconds=5)),
            presence=presence,
        )


ROOMY = Limits(
    sockets_per_person=1_000,
    commands_per_second=1e6,
    command_burst=1_000_000,
    flood_close_after=1_000_000,
    requests_per_minute_person=10**8,
    requests_per_minute_site=10**9,
)
"""Limits no test of something else reaches (the tests of the limits set their own)."""


def without_default_limits(settings: WebSettings) -> WebSettings:
    """`settings`, with `ROOMY` limits unless it sets limits of its own."""
    return settings if settings.limits != Limits() else evolve(settings, limits=ROOMY)
