"""The Jira client's test kit: a simulator-backed tenant and a sleep that does not wait."""

from __future__ import annotations

from datetime import UTC, datetime

from attrs import define, field

from agiletoolbox.domain.ids import TenantKey
from agiletoolbox.domain.tenant import ProductType, Region, Tenant
from agiletoolbox.simulator import JiraSimulator

APP_KEY = "agile-toolbox"


@define
class Sleeps:
    """Records the waits asked for instead of waiting."""

    waits: list[float] = field(factory=list)

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def tenant_of(jira: JiraSimulator, site: str = "acme", *, secret: str | None = None) -> Tenant:
    """The app's tenant row for a simulated site the app is installed on."""
    the_site = jira.site(site)
    installation = the_site.installations.get(APP_KEY) or jira.register_installation(site, APP_KEY)
    return Tenant.install(
        key=TenantKey(the_site.client_key),
        base_url=the_site.base_url,
        shared_secret=secret or installation.shared_secret,
        product_type=ProductType.JIRA,
        region=Region.US,
        now=datetime.now(UTC),
    )
