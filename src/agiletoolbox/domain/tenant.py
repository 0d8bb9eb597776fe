"""The tenant: one installation of the app on a Jira site, and its lifecycle.

Jira tells the app about a site through lifecycle calls (installed, enabled, disabled,
uninstalled). Those calls may repeat and may race (`disabled` and `uninstalled` arrive a few
milliseconds apart), so every step is idempotent and nothing but a fresh install revives an
uninstalled tenant. Each method that changes the tenant adds one to `version` and records
events; a call that changes nothing records nothing. Events never carry the shared secret.
"""

from __future__ import annotations

import hmac
from datetime import datetime
from typing import TYPE_CHECKING

from attrs import define, field, frozen
from attrs.converters import optional
from attrs.validators import instance_of
from attrs.validators import optional as optional_of

from agiletoolbox.domain.errors import InvalidState, InvalidValue, NotPermitted
from agiletoolbox.domain.ids import TenantKey
from agiletoolbox.domain.site import installation_ari, parse_base_url, parse_cloud_id
from agiletoolbox.domain.standing import ProductType, Region, TenantStanding, TenantState
from agiletoolbox.domain.timing import utc

__all__ = [
    "MAX_SECRET_LENGTH",
    "ForgeLinked",
    "ProductType",
    "Region",
    "SecretRotated",
    "Tenant",
    "TenantArrived",
    "TenantDisabled",
    "TenantEnabled",
    "TenantEvent",
    "TenantInstalled",
    "TenantMoveCancelled",
    "TenantMoving",
    "TenantReinstalled",
    "TenantStanding",
    "TenantState",
    "TenantUninstalled",
]

MAX_SECRET_LENGTH = 1024

if TYPE_CHECKING:
    from agiletoolbox.domain.retention import RetentionPolicy


def _check_secret(secret: str) -> str:
    if (
        not isinstance(secret, str)
        or not secret.strip()
        or len(secret) > MAX_SECRET_LENGTH
        or not secret.isprintable()
    ):
        # The message never repeats the secret.
        raise InvalidValue("the shared secret is not valid")
    return secret


# -- events ----------------------------------------------------------------------------


@frozen
class TenantEvent:
    """Something happened to a tenant; `version` is the tenant's version after it."""

    tenant: TenantKey
    version: int
    at: datetime


@frozen
class TenantInstalled(TenantEvent):
    """A site installed the app for the first time (or afresh after its data was purged)."""

    region: Region
    product_type: ProductType


@frozen
class TenantReinstalled(TenantEvent):
    """A known site installed the app again; `restored` when it had been uninstalled."""

    restored: bool


@frozen
class TenantEnabled(TenantEvent):
    """The site enabled the app."""


@frozen
class TenantDisabled(TenantEvent):
    """The site disabled the app: it may not be served until enabled again."""


@frozen
class TenantUninstalled(TenantEvent):
    """The site uninstalled the app: no more access, its data awaits the purge."""


@frozen
class SecretRotated(TenantEvent):
    """The site sent a new shared secret (the event never carries it)."""


@frozen
class ForgeLinked(TenantEvent):
    """The tenant is now known under a Forge installation id too."""

    installation_id: str


@frozen
class TenantMoving(TenantEvent):
    """A region migration began: the site is not served until it commits or rolls back."""

    target: Region


@frozen
class TenantMoveCancelled(TenantEvent):
    """The region migration was rolled back: the site is served here again."""


@frozen
class TenantArrived(TenantEvent):
    """A migrated copy became authoritative in this deployment's region."""

    region: Region


# -- the aggregate -----------------------------------------------------------------------


@define
class Tenant:
    """An installation of the app on one Jira site, pinned to one region."""

    key: TenantKey = field(validator=instance_of(TenantKey))
    base_url: str = field(converter=parse_base_url)
    # Plain here; adapters encrypt it at rest. Never in a repr, a log line or an event.
    shared_secret: str = field(repr=False, converter=_check_secret)
    product_type: ProductType = field(validator=instance_of(ProductType))
    region: Region = field(validator=instance_of(Region))
    state: TenantState = field(validator=instance_of(TenantState))
    installed_at: datetime = field(converter=utc)
    updated_at: datetime = field(converter=utc)
    installation_id: str | None = field(default=None, converter=optional(installation_ari))
    cloud_id: str | None = field(default=None, converter=optional(parse_cloud_id))
    uninstalled_at: datetime | None = field(default=None, converter=optional(utc))
    # Set while the tenant's data is being copied to another region: nobody is served.
    moving_to: Region | None = field(default=None, validator=optional_of(instance_of(Region)))
    version: int = field(default=1, validator=instance_of(int))
    pending_events: list[TenantEvent] = field(factory=list, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        if (self.state is TenantState.UNINSTALLED) != (self.uninstalled_at is not None):
            raise InvalidValue("a tenant has an uninstall time exactly when it is uninstalled")
        if self.version < 1:
            raise InvalidValue("a tenant's version starts at 1")
        if self.moving_to is not None and self.moving_to is self.region:
            raise InvalidValue("a tenant cannot move to the region it is in")

    @classmethod
    def install(
        cls,
        *,
        key: TenantKey,
        base_url: str,
        shared_secret: str,
        product_type: ProductType,
        region: Region,
        now: datetime,
        installation_id: str | None = None,
        cloud_id: str | None = None,
        production: bool = False,
    ) -> Tenant:
        """A tenant for a site the deployment does not know (or whose data was purged)."""
        now = utc(now)
        tenant = cls(
            key=key,
            base_url=parse_base_url(base_url, production=production),
            shared_secret=shared_secret,
            product_type=product_type,
            region=region,
            state=TenantState.INSTALLED,
            installed_at=now,
            updated_at=now,
            installation_id=installation_id,
            cloud_id=cloud_id,
        )
        tenant.pending_events.append(
            TenantInstalled(key, tenant.version, now, region, product_type)
        )
        return tenant

    # -- reading -----------------------------------------------------------------------

    @property
    def standing(self) -> TenantStanding:
        """Whether the site may be served now, without the rest of the tenant."""
        return TenantStanding(self.state, self.moving_to)

    @property
    def accessible(self) -> bool:
        """Whether the site may be served (see `TenantStanding.accessible`)."""
        return self.standing.accessible

    def require_accessible(self) -> None:
        """Return quietly when the site may be served; `AccessRefused` otherwise."""
        self.standing.require_accessible()

    def expired(self, retention: RetentionPolicy, now: datetime) -> bool:
        """Whether it is uninstalled and past the retention window, its data due for purge."""
        return retention.tenant_due(self.state, self.uninstalled_at, utc(now))

    def drain_events(self) -> list[TenantEvent]:
        """The events recorded since the last drain, oldest first; the list is emptied."""
        events, self.pending_events = self.pending_events, []
        return events

    # -- lifecycle ---------------------------------------------------------------------

    def reinstall(
        self,
        *,
        base_url: str,
        shared_secret: str,
        authenticated: bool,
        retention: RetentionPolicy,
        now: datetime,
        installation_id: str | None = None,
        cloud_id: str | None = None,
        production: bool = False,
    ) -> bool:
        """Apply `installed` for a known site; True when anything changed.

        `authenticated`: the call was a signed install or carried a JWT signed with the
        stored secret. Without it any change (secret, base URL, link, state) is
        `NotPermitted`; an exact repeat is a no-op either way. An uninstalled tenant inside
        the retention window is restored; past it, `InvalidState`: purge, then `install`.
        A disabled tenant stays disabled until Jira sends `enabled`.
        """
        now = utc(now)
        url = parse_base_url(base_url, production=production)
        secret = _check_secret(shared_secret)
        link = (
            self.installation_id if installation_id is None else installation_ari(installation_id)
        )
        cloud = self.cloud_id if cloud_id is None else parse_cloud_id(cloud_id)
        restoring = self.state is TenantState.UNINSTALLED
        if restoring and self.expired(retention, now):
            raise InvalidState("the site's data has expired; purge it and install afresh")
        rotating = not hmac.compare_digest(secret.encode(), self.shared_secret.encode())
        linking = link != self.installation_id
        if not (restoring or rotating or linking or (url, cloud) != (self.base_url, self.cloud_id)):
            return False
        if not authenticated:
            raise NotPermitted("a re-install must be signed")
        self.base_url, self.shared_secret = url, secret
        self.installation_id, self.cloud_id = link, cloud
        if restoring:
            self.state, self.uninstalled_at = TenantState.INSTALLED, None
        self._changed(now)
        self._emit(TenantReinstalled, now, restoring)
        if rotating:
            self._emit(SecretRotated, now)
        if linking and link is not None:
            self._emit(ForgeLinked, now, link)
        return True

    def enable(self, now: datetime) -> bool:
        """Apply `enabled`; False for a repeat, or when late after `uninstalled`."""
        return self._switch(TenantState.ENABLED, TenantEnabled, utc(now))

    def disable(self, now: datetime) -> bool:
        """Apply `disabled`; False for a repeat, or when late after `uninstalled`."""
        return self._switch(TenantState.DISABLED, TenantDisabled, utc(now))

    def uninstall(self, now: datetime) -> bool:
        """Apply `uninstalled`: access stops at once and the retention clock starts.

        False for a repeat; the first uninstall time is kept, so repeats never delay the purge.
        """
        now = utc(now)
        if self.state is TenantState.UNINSTALLED:
            return False
        self.state, self.uninstalled_at = TenantState.UNINSTALLED, now
        self._changed(now)
        self._emit(TenantUninstalled, now)
        return True

    def link_forge(
        self, installation_id: str, now: datetime, *, cloud_id: str | None = None
    ) -> bool:
        """Record the site's Forge installation (and cloud id); True when either changed.

        A late Forge event for an uninstalled tenant changes nothing and returns False.
        """
        now = utc(now)
        link = installation_ari(installation_id)
        cloud = self.cloud_id if cloud_id is None else parse_cloud_id(cloud_id)
        unchanged = (link, cloud) == (self.installation_id, self.cloud_id)
        if unchanged or self.state is TenantState.UNINSTALLED:
            return False
        linking = link != self.installation_id
        self.installation_id, self.cloud_id = link, cloud
        self._changed(now)
        if linking:
            self._emit(ForgeLinked, now, link)
        return True

    # -- region migration --------------------------------------------------------------

    def begin_move(self, target: Region, now: datetime) -> bool:
        """Stop serving the site while its data is copied to `target`; False for a repeat.

        An uninstalled tenant does not move (its data awaits the purge), and a tenant moves
        to one region at a time.
        """
        if not isinstance(target, Region) or target is self.region:
            raise InvalidValue("a tenant moves to another region")
        if self.moving_to is target:
            return False
        if self.moving_to is not None:
            raise InvalidState(f"the site is already moving to {self.moving_to.value}")
        if self.state is TenantState.UNINSTALLED:
            raise InvalidState("an uninstalled site does not move")
        now = utc(now)
        self.moving_to = target
        self._changed(now)
        self._emit(TenantMoving, now, target)
        return True

    def cancel_move(self, now: datetime) -> bool:
        """The move was rolled back: the site is served here again; False if not moving."""
        if self.moving_to is None:
            return False
        now = utc(now)
        self.moving_to = None
        self._changed(now)
        self._emit(TenantMoveCancelled, now)
        return True

    def arrive(self, region: Region, now: datetime) -> bool:
        """The copy in `region` becomes the tenant; False when it already is.

        Only a tenant on its way to `region` arrives there.
        """
        if self.region is region and self.moving_to is None:
            return False
        if self.moving_to is not region:
            raise InvalidState(f"the site is not moving to {region.value}")
        now = utc(now)
        self.region, self.moving_to = region, None
        self._changed(now)
        self._emit(TenantArrived, now, region)
        return True

    def _switch(self, state: TenantState, kind: type[TenantEvent], now: datetime) -> bool:
        # A late `enabled` or `disabled` never overwrites an uninstall.
        if self.state in (state, TenantState.UNINSTALLED):
            return False
        self.state = state
        self._changed(now)
        self._emit(kind, now)
        return True

    def _changed(self, now: datetime) -> None:
        self.version += 1
        # A late call on a skewed clock never moves the last change back in time.
        self.updated_at = max(self.updated_at, now)

    def _emit(self, kind: type[TenantEvent], now: datetime, *details: object) -> None:
        self.pending_events.append(kind(self.key, self.version, now, *details))
