"""The tenant aggregate: installation values, lifecycle rules, events, and a lifecycle property."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from attrs import evolve
from hypothesis import given
from hypothesis import strategies as st

from agiletoolbox.domain.errors import AccessRefused, InvalidState, InvalidValue, NotPermitted
from agiletoolbox.domain.ids import TenantKey
from agiletoolbox.domain.retention import RetentionPolicy
from agiletoolbox.domain.site import installation_ari, parse_base_url, parse_cloud_id
from agiletoolbox.domain.tenant import (
    ForgeLinked,
    ProductType,
    Region,
    SecretRotated,
    Tenant,
    TenantDisabled,
    TenantEnabled,
    TenantInstalled,
    TenantReinstalled,
    TenantState,
    TenantUninstalled,
)
from agiletoolbox.domain.timing import utc

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
KEY = TenantKey("jira:1234-abcd")
SECRET = "first-shared-secret-0123456789"
NEW_SECRET = "second-shared-secret-9876543210"
URL = "https://acme.atlassian.net"
UUID = "0b0c4a5e-1f2d-4c3b-9a8e-7d6f5e4c3b2a"
ARI = f"ari:cloud:ecosystem::installation/{UUID}"
CLOUD = "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a"
POLICY = RetentionPolicy()


def installed(**overrides: object) -> Tenant:
    """A freshly installed tenant, events drained."""
    arguments: dict[str, object] = {
        "key": KEY,
        "base_url": URL,
        "shared_secret": SECRET,
        "product_type": ProductType.JIRA,
        "region": Region.EU,
        "now": T0,
    }
    arguments.update(overrides)
    tenant = Tenant.install(**arguments)  # type: ignore[arg-type]
    tenant.drain_events()
    return tenant


def reinstall(tenant: Tenant, *, authenticated: bool = True, **overrides: object) -> bool:
    """Apply an `installed` call to a known tenant, defaults repeating the first install."""
    arguments: dict[str, object] = {
        "base_url": URL,
        "shared_secret": SECRET,
        "authenticated": authenticated,
        "retention": POLICY,
        "now": T0 + timedelta(hours=1),
    }
    arguments.update(overrides)
    return tenant.reinstall(**arguments)  # type: ignore[arg-type]


# -- values ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "region"),
    [("US", Region.US), ("eu", Region.EU), (" Eu ", Region.EU), ("us", Region.US)],
)
def test_region_parses_case_insensitively(text: str, region: Region) -> None:
    assert Region.parse(text) is region


@pytest.mark.parametrize("text", ["AU", "", "Europe", "U S", 1, None])
def test_region_refuses_other_realms(text: object) -> None:
    with pytest.raises(InvalidValue):
        Region.parse(text)  # type: ignore[arg-type]


def test_product_type_parses_and_refuses() -> None:
    assert ProductType.parse("JIRA") is ProductType.JIRA
    assert ProductType.parse("confluence") is ProductType.CONFLUENCE
    with pytest.raises(InvalidValue):
        ProductType.parse("bitbucket")


@pytest.mark.parametrize(
    ("url", "normalised"),
    [
        ("https://acme.atlassian.net", "https://acme.atlassian.net"),
        ("HTTPS://Acme.Atlassian.NET/", "https://acme.atlassian.net"),
        ("https://acme.atlassian.net/wiki/", "https://acme.atlassian.net/wiki"),
        ("http://127.0.0.1:8081", "http://127.0.0.1:8081"),
        ("http://[::1]:8081/jira", "http://[::1]:8081/jira"),
        ("http://localhost:2990/jira", "http://localhost:2990/jira"),
    ],
)
def test_base_url_is_normalised(url: str, normalised: str) -> None:
    assert parse_base_url(url) == normalised


@pytest.mark.parametrize(
    "url",
    [
        "",
        "acme.atlassian.net",
        "ftp://acme.atlassian.net",
        "javascript:alert(1)",
        "https://",
        "https://user:pass@acme.atlassian.net",
        "https://@acme.atlassian.net",
        "https://acme.atlassian.net/#top",
        "https://acme.atlassian.net/?next=evil",
        "https://acme.atlassian.net/ x",
        "https://acme.atlassian.net/\n",
        "https://äcme.atlassian.net",
        "https://acme.atlassian.net:99999",
        "https://acme.atlassian.net:port",
        "https://-acme.atlassian.net",
        "https://acme..atlassian.net",
        "https://acme.atlassian.net\\@evil.com",
        "https://" + "a" * 2048 + ".net",
        42,
    ],
)
def test_base_url_refuses_unsafe_shapes(url: object) -> None:
    with pytest.raises(InvalidValue):
        parse_base_url(url)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "url",
    [
        "https://acme.atlassian.net",
        "https://acme.jira.com",
        "https://acme-dev.jira-dev.com",
        "https://acme.atlassian.net:443",
    ],
)
def test_production_accepts_jira_cloud_sites(url: str) -> None:
    assert parse_base_url(url, production=True).startswith("https://acme")


@pytest.mark.parametrize(
    "url",
    [
        "http://acme.atlassian.net",
        "https://acme.atlassian.net:8443",
        "https://atlassian.net",
        "https://a.b.atlassian.net",
        "https://acme.atlassian.net.evil.com",
        "https://evilatlassian.net",
        "https://127.0.0.1",
        "https://localhost",
    ],
)
def test_production_refuses_other_hosts(url: str) -> None:
    assert parse_base_url(url)  # acceptable outside production ...
    with pytest.raises(InvalidValue):
        parse_base_url(url, production=True)  # ... but not in production


def test_installation_id_takes_either_form_and_keeps_the_ari() -> None:
    assert installation_ari(UUID) == ARI
    assert installation_ari(ARI) == ARI
    assert installation_ari(ARI.upper().replace("ARI:CLOUD:ECOSYSTEM::INSTALLATION/", "")) == ARI
    for bad in ["", "ari:cloud:ecosystem::app/" + UUID, UUID[:-1], "not-a-uuid", None]:
        with pytest.raises(InvalidValue):
            installation_ari(bad)  # type: ignore[arg-type]


def test_cloud_id_is_a_uuid() -> None:
    assert parse_cloud_id(CLOUD.upper()) == CLOUD
    with pytest.raises(InvalidValue):
        parse_cloud_id("site-1")


def test_times_must_be_aware_and_become_utc() -> None:
    with pytest.raises(InvalidValue):
        utc(datetime(2026, 1, 1))
    paris = datetime(2026, 1, 1, 13, 0, tzinfo=timezone(timedelta(hours=1)))
    assert utc(paris) == datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert utc(paris).tzinfo is UTC


# -- install -----------------------------------------------------------------------------


def test_install_creates_an_accessible_tenant_and_records_it() -> None:
    tenant = Tenant.install(
        key=KEY,
        base_url="https://ACME.atlassian.net/",
        shared_secret=SECRET,
        product_type=ProductType.JIRA,
        region=Region.EU,
        now=T0,
        installation_id=UUID,
        cloud_id=CLOUD,
        production=True,
    )
    assert tenant.state is TenantState.INSTALLED
    assert tenant.accessible
    tenant.require_accessible()
    assert (tenant.base_url, tenant.installation_id, tenant.cloud_id) == (URL, ARI, CLOUD)
    assert (tenant.installed_at, tenant.updated_at, tenant.uninstalled_at) == (T0, T0, None)
    assert tenant.version == 1
    assert tenant.drain_events() == [
        TenantInstalled(KEY, 1, T0, region=Region.EU, product_type=ProductType.JIRA)
    ]
    assert tenant.pending_events == []


def test_install_in_production_refuses_a_foreign_base_url() -> None:
    with pytest.raises(InvalidValue):
        installed(base_url="https://evil.example.com", production=True)


def test_install_refuses_a_naive_time() -> None:
    with pytest.raises(InvalidValue):
        installed(now=datetime(2026, 1, 1))


@pytest.mark.parametrize("secret", ["", "   ", "a" * 1025, "line\nbreak", 42])
def test_install_refuses_a_bad_secret_without_repeating_it(secret: object) -> None:
    with pytest.raises(InvalidValue) as refused:
        installed(shared_secret=secret)
    if isinstance(secret, str) and secret.strip():
        assert secret not in str(refused.value)


def test_the_secret_never_shows_in_a_repr_or_an_event() -> None:
    tenant = Tenant.install(
        key=KEY,
        base_url=URL,
        shared_secret=SECRET,
        product_type=ProductType.JIRA,
        region=Region.US,
        now=T0,
    )
    assert reinstall(tenant, shared_secret=NEW_SECRET)
    tenant.uninstall(T0 + timedelta(days=1))
    assert SECRET not in repr(tenant)
    assert NEW_SECRET not in repr(tenant)
    for event in tenant.drain_events():
        assert SECRET not in repr(event)
        assert NEW_SECRET not in repr(event)


def test_the_constructor_keeps_state_and_uninstall_time_consistent() -> None:
    tenant = installed()
    with pytest.raises(InvalidValue):
        evolve(tenant, state=TenantState.UNINSTALLED)
    with pytest.raises(InvalidValue):
        evolve(tenant, uninstalled_at=T0)
    with pytest.raises(InvalidValue):
        evolve(tenant, version=0)
    stored = evolve(tenant, state=TenantState.UNINSTALLED, uninstalled_at=T0)
    assert not stored.accessible


# -- re-install --------------------------------------------------------------------------


def test_an_exact_repeat_changes_nothing_even_unauthenticated() -> None:
    tenant = installed()
    assert reinstall(tenant, authenticated=False) is False
    assert reinstall(tenant, authenticated=True) is False
    assert tenant.version == 1
    assert tenant.pending_events == []


def test_an_authenticated_reinstall_rotates_the_secret() -> None:
    tenant = installed()
    later = T0 + timedelta(hours=1)
    assert reinstall(tenant, shared_secret=NEW_SECRET, now=later) is True
    assert tenant.shared_secret == NEW_SECRET
    assert tenant.version == 2
    assert tenant.updated_at == later
    assert tenant.drain_events() == [
        TenantReinstalled(KEY, 2, later, restored=False),
        SecretRotated(KEY, 2, later),
    ]


@pytest.mark.parametrize(
    "change",
    [
        {"shared_secret": NEW_SECRET},
        {"base_url": "https://renamed.atlassian.net"},
        {"installation_id": UUID},
        {"cloud_id": CLOUD},
    ],
)
def test_an_unauthenticated_reinstall_may_change_nothing(change: dict[str, str]) -> None:
    tenant = installed()
    with pytest.raises(NotPermitted):
        reinstall(tenant, authenticated=False, **change)
    assert tenant == installed()
    assert tenant.pending_events == []


def test_a_reinstall_follows_a_site_rename_without_rotating() -> None:
    tenant = installed()
    assert reinstall(tenant, base_url="https://renamed.atlassian.net/")
    assert tenant.base_url == "https://renamed.atlassian.net"
    assert [type(e) for e in tenant.drain_events()] == [TenantReinstalled]


def test_a_reinstall_in_production_checks_the_base_url() -> None:
    tenant = installed()
    with pytest.raises(InvalidValue):
        reinstall(tenant, base_url="https://evil.example.com", production=True)
    assert tenant.base_url == URL


def test_a_reinstall_links_forge_and_keeps_the_link_when_not_told() -> None:
    tenant = installed()
    assert reinstall(tenant, installation_id=ARI, cloud_id=CLOUD)
    assert (tenant.installation_id, tenant.cloud_id) == (ARI, CLOUD)
    events = tenant.drain_events()
    assert events[-1] == ForgeLinked(KEY, 2, T0 + timedelta(hours=1), ARI)
    assert reinstall(tenant) is False
    assert tenant.installation_id == ARI


def test_a_reinstall_restores_an_uninstalled_tenant_inside_the_window() -> None:
    tenant = installed()
    tenant.uninstall(T0 + timedelta(days=1))
    tenant.drain_events()
    back = T0 + timedelta(days=30)
    assert reinstall(tenant, now=back)
    assert tenant.state is TenantState.INSTALLED
    assert tenant.uninstalled_at is None
    assert tenant.accessible
    assert tenant.drain_events() == [TenantReinstalled(KEY, 3, back, restored=True)]


def test_restoring_needs_authentication_even_with_the_same_secret() -> None:
    tenant = installed()
    tenant.uninstall(T0 + timedelta(days=1))
    with pytest.raises(NotPermitted):
        reinstall(tenant, authenticated=False, now=T0 + timedelta(days=2))
    assert tenant.state is TenantState.UNINSTALLED


def test_past_the_window_the_tenant_must_be_purged_and_installed_afresh() -> None:
    tenant = installed()
    gone = T0 + timedelta(days=1)
    tenant.uninstall(gone)
    late = gone + timedelta(days=POLICY.uninstalled_days, microseconds=1)
    assert not tenant.expired(POLICY, late - timedelta(microseconds=1))
    assert tenant.expired(POLICY, late)
    with pytest.raises(InvalidState):
        reinstall(tenant, now=late)
    assert tenant.state is TenantState.UNINSTALLED


def test_a_reinstall_leaves_a_disabled_tenant_disabled() -> None:
    tenant = installed()
    tenant.disable(T0)
    assert reinstall(tenant, shared_secret=NEW_SECRET)
    assert tenant.state is TenantState.DISABLED
    assert not tenant.accessible


# -- enable, disable, uninstall ----------------------------------------------------------


def test_enable_and_disable_are_idempotent() -> None:
    tenant = installed()
    at = T0 + timedelta(minutes=1)
    assert tenant.enable(at) is True
    assert tenant.enable(at) is False
    assert tenant.state is TenantState.ENABLED
    assert tenant.disable(at) is True
    assert tenant.disable(at) is False
    assert not tenant.accessible
    with pytest.raises(AccessRefused):
        tenant.require_accessible()
    assert tenant.enable(at) is True
    assert tenant.version == 4
    assert [type(e) for e in tenant.drain_events()] == [
        TenantEnabled,
        TenantDisabled,
        TenantEnabled,
    ]


def test_uninstall_stops_access_at_once_and_keeps_the_first_time() -> None:
    tenant = installed()
    tenant.enable(T0)
    first = T0 + timedelta(days=2)
    assert tenant.uninstall(first) is True
    assert not tenant.accessible
    with pytest.raises(AccessRefused):
        tenant.require_accessible()
    assert tenant.uninstall(first + timedelta(days=5)) is False
    assert tenant.uninstalled_at == first
    assert tenant.drain_events()[-1] == TenantUninstalled(KEY, 3, first)


@pytest.mark.parametrize("late", ["enable", "disable"])
def test_a_late_enabled_or_disabled_never_revives_an_uninstalled_tenant(late: str) -> None:
    tenant = installed()
    tenant.uninstall(T0 + timedelta(seconds=1))
    version, events = tenant.version, list(tenant.pending_events)
    assert getattr(tenant, late)(T0 + timedelta(seconds=2)) is False
    assert tenant.state is TenantState.UNINSTALLED
    assert (tenant.version, tenant.pending_events) == (version, events)


def test_a_late_call_never_moves_the_last_change_back() -> None:
    tenant = installed(now=T0 + timedelta(hours=1))
    tenant.disable(T0)
    assert tenant.updated_at == T0 + timedelta(hours=1)


def test_lifecycle_times_are_normalised_to_utc() -> None:
    tenant = installed()
    tenant.uninstall(datetime(2026, 3, 2, 14, 0, tzinfo=timezone(timedelta(hours=2))))
    assert tenant.uninstalled_at == datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    with pytest.raises(InvalidValue):
        tenant.enable(datetime(2026, 3, 3))


# -- Forge link ---------------------------------------------------------------------------


def test_link_forge_records_the_installation_once() -> None:
    tenant = installed()
    assert tenant.link_forge(UUID, T0) is True
    assert tenant.installation_id == ARI
    assert tenant.link_forge(ARI, T0) is False
    assert tenant.drain_events() == [ForgeLinked(KEY, 2, T0, ARI)]


def test_link_forge_may_add_the_cloud_id_and_follow_a_new_installation() -> None:
    tenant = installed(installation_id=ARI)
    assert tenant.link_forge(ARI, T0, cloud_id=CLOUD) is True
    assert tenant.cloud_id == CLOUD
    assert tenant.pending_events == []
    assert tenant.version == 2
    other = "11111111-2222-4333-8444-555555555555"
    assert tenant.link_forge(other, T0) is True
    assert tenant.drain_events() == [ForgeLinked(KEY, 3, T0, installation_ari(other))]


def test_link_forge_ignores_an_uninstalled_tenant() -> None:
    tenant = installed()
    tenant.uninstall(T0)
    assert tenant.link_forge(UUID, T0) is False
    assert tenant.installation_id is None


# -- property: nothing but a re-install revives an uninstalled tenant -------------------

OPERATIONS = st.sampled_from(
    ["enable", "disable", "uninstall", "link", "reinstall", "reinstall-unsigned", "rotate"]
)


@given(st.lists(st.tuples(OPERATIONS, st.integers(0, 40 * 24)), max_size=30))
def test_random_lifecycles_never_revive_an_uninstalled_tenant(
    steps: list[tuple[str, int]],
) -> None:
    tenant = installed()
    now = T0
    for operation, hours in steps:
        now += timedelta(hours=hours)
        before = (tenant.state, tenant.uninstalled_at, tenant.version)
        pending = len(tenant.pending_events)
        changed = False
        try:
            if operation == "enable":
                changed = tenant.enable(now)
            elif operation == "disable":
                changed = tenant.disable(now)
            elif operation == "uninstall":
                changed = tenant.uninstall(now)
            elif operation == "link":
                changed = tenant.link_forge(UUID, now)
            else:
                secret = NEW_SECRET if operation == "rotate" else tenant.shared_secret
                changed = reinstall(
                    tenant,
                    authenticated=operation != "reinstall-unsigned",
                    shared_secret=secret,
                    now=now,
                )
        except (NotPermitted, InvalidState):
            assert (tenant.state, tenant.uninstalled_at, tenant.version) == before
            continue
        revived = operation in ("reinstall", "rotate")
        if before[0] is TenantState.UNINSTALLED and not revived:
            assert (tenant.state, tenant.uninstalled_at) == before[:2]
        assert tenant.version == before[2] + changed
        assert (len(tenant.pending_events) > pending) == changed
        assert tenant.accessible == (tenant.state in (TenantState.INSTALLED, TenantState.ENABLED))
        assert (tenant.state is TenantState.UNINSTALLED) == (tenant.uninstalled_at is not None)


# -- region migration ---------------------------------------------------------------------


def test_a_moving_tenant_is_not_served_until_the_move_is_cancelled() -> None:
    tenant = _moving_kit()
    assert tenant.begin_move(Region.US, T0) is True
    assert tenant.begin_move(Region.US, T0) is False
    assert not tenant.accessible
    with pytest.raises(AccessRefused):
        tenant.require_accessible()
    assert tenant.cancel_move(T0) is True
    assert tenant.cancel_move(T0) is False
    assert tenant.accessible


def test_a_tenant_moves_to_another_region_only_and_one_at_a_time() -> None:
    tenant = _moving_kit()
    with pytest.raises(InvalidValue):
        tenant.begin_move(tenant.region, T0)
    tenant.uninstall(T0)
    with pytest.raises(InvalidState):
        tenant.begin_move(Region.US, T0)


def test_the_copy_arrives_only_in_the_region_it_moves_to() -> None:
    copy = _moving_kit()
    with pytest.raises(InvalidState):
        copy.arrive(Region.US, T0)
    copy.begin_move(Region.US, T0)
    version = copy.version
    assert copy.arrive(Region.US, T0) is True
    assert (copy.region, copy.moving_to, copy.version) == (Region.US, None, version + 1)
    assert copy.accessible
    assert copy.arrive(Region.US, T0) is False


def _moving_kit() -> Tenant:
    return Tenant.install(
        key=TenantKey("client-key-moving"),
        base_url="https://acme.atlassian.net",
        shared_secret="a-shared-secret-of-enough-length-0001",
        product_type=ProductType.JIRA,
        region=Region.EU,
        now=T0,
    )
