"""The simulator installs the app as Jira does, and the product's verifiers agree."""

from __future__ import annotations

import jwt
import pytest
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from agiletoolbox.adapters.connect.qsh import qsh_for_url
from agiletoolbox.simulator import InstallFailed, JiraSimulator
from tests.simulator.appkit import APP_KEY, REGION_PREFIX, ConnectApp


async def test_install_is_signed_rs256_and_verifies_with_the_app_verifier(
    jira: JiraSimulator, connect_app: ConnectApp
) -> None:
    installation = await jira.install("acme", connect_app.base_url)

    site = jira.site("acme")
    assert connect_app.events == [("installed", None), ("enabled", None)]
    assert connect_app.secrets == {site.client_key: installation.shared_secret}
    assert installation.state == "enabled"
    assert installation.app_key == APP_KEY
    assert jira.keys.fetches == [jira.keys.current_kid]
    installed, enabled = jira.deliveries
    assert (installed.event, installed.algorithm, installed.status) == ("installed", "RS256", 204)
    assert (enabled.event, enabled.algorithm, enabled.status) == ("enabled", "HS256", 204)


async def test_installed_payload_carries_what_jira_sends(
    jira: JiraSimulator, connect_app: ConnectApp
) -> None:
    await jira.install("acme", connect_app.base_url)

    installed, enabled = connect_app.payloads
    site = jira.site("acme")
    assert installed["eventType"] == "installed"
    assert installed["key"] == APP_KEY
    assert installed["clientKey"] == site.client_key
    assert installed["baseUrl"] == site.base_url
    assert installed["displayUrl"] == site.base_url
    assert installed["productType"] == "jira"
    assert installed["description"]
    assert installed["sharedSecret"]
    assert "installationId" not in installed
    assert enabled["eventType"] == "enabled"
    assert "sharedSecret" not in enabled


async def test_a_repeated_install_delivery_is_verified_again(
    jira: JiraSimulator, connect_app: ConnectApp
) -> None:
    installation = await jira.install("acme", connect_app.base_url)

    repeats = await jira.redeliver("acme", "installed", times=2)

    assert [d.status for d in repeats if d] == [204, 204]
    assert connect_app.events[-2:] == [("installed", None), ("installed", None)]
    assert connect_app.payloads[-1]["sharedSecret"] == installation.shared_secret


async def test_reinstall_keeps_the_secret_unless_rotated(
    jira: JiraSimulator, connect_app: ConnectApp
) -> None:
    first = await jira.install("acme", connect_app.base_url)
    again = await jira.install("acme", connect_app.base_url)
    rotated = await jira.install("acme", connect_app.base_url, rotate_secret=True)

    assert again.shared_secret == first.shared_secret
    assert rotated.shared_secret != first.shared_secret
    assert connect_app.secrets[jira.site("acme").client_key] == rotated.shared_secret


async def test_rotated_install_key_is_fetched_by_its_new_kid(
    jira: JiraSimulator, connect_app: ConnectApp
) -> None:
    await jira.install("acme", connect_app.base_url)
    old = jira.keys.current_kid
    new = jira.keys.rotate()

    await jira.install("globex", connect_app.base_url)

    assert jira.keys.fetches == [old, new]
    assert connect_app.events[-2:] == [("installed", None), ("enabled", None)]


async def test_a_forgotten_key_fails_the_install(
    jira: JiraSimulator, connect_app: ConnectApp
) -> None:
    jira.keys.forget(jira.keys.current_kid)

    with pytest.raises(InstallFailed):
        await jira.install("acme", connect_app.base_url)

    assert connect_app.events == [("installed", "unknown_key")]
    assert jira.site("acme").installations == {}


async def test_an_install_the_app_refuses_installs_nothing(
    jira: JiraSimulator, connect_app: ConnectApp
) -> None:
    connect_app.answer = 500

    with pytest.raises(InstallFailed, match="500"):
        await jira.install("acme", connect_app.base_url)

    assert jira.site("acme").installations == {}


async def test_no_descriptor_no_install(jira: JiraSimulator) -> None:
    with pytest.raises(InstallFailed, match="descriptor"):
        await jira.install("acme", jira.origin + "/nowhere")


async def test_uninstall_sends_disabled_then_signed_uninstalled(
    jira: JiraSimulator, connect_app: ConnectApp
) -> None:
    await jira.install("acme", connect_app.base_url)

    deliveries = await jira.uninstall("acme")

    assert [(d.event, d.algorithm, d.status) for d in deliveries if d] == [
        ("disabled", "HS256", 204),
        ("uninstalled", "RS256", 204),
    ]
    assert connect_app.events[-2:] == [("disabled", None), ("uninstalled", None)]
    assert jira.site("acme").installation().state == "uninstalled"


async def test_racing_uninstall_delivers_both(jira: JiraSimulator, connect_app: ConnectApp) -> None:
    await jira.install("acme", connect_app.base_url)

    deliveries = await jira.uninstall("acme", race=True)

    assert sorted(d.event for d in deliveries if d) == ["disabled", "uninstalled"]
    assert sorted(connect_app.events[-2:]) == [("disabled", None), ("uninstalled", None)]


async def test_disable_and_enable(jira: JiraSimulator, connect_app: ConnectApp) -> None:
    await jira.install("acme", connect_app.base_url)

    await jira.disable("acme")
    assert jira.site("acme").installation().state == "disabled"
    await jira.enable("acme")

    assert connect_app.events[-2:] == [("disabled", None), ("enabled", None)]
    assert jira.site("acme").installation().state == "enabled"


async def test_a_site_pinned_to_a_realm_installs_at_the_regional_url(
    jira: JiraSimulator, connect_app: ConnectApp
) -> None:
    connect_app.regional = True
    jira.add_site("eurosite", realm="EU")

    installation = await jira.install("eurosite", connect_app.base_url)

    assert installation.app_base_url == connect_app.base_url + REGION_PREFIX
    assert jira.deliveries[0].url == connect_app.base_url + REGION_PREFIX + "/lifecycle/installed"
    assert connect_app.events == [("installed", None), ("enabled", None)]


async def test_connect_on_forge_sites_send_the_installation_id(
    jira: JiraSimulator, connect_app: ConnectApp
) -> None:
    site = jira.add_site("forged", connect_on_forge=True)

    await jira.install("forged", connect_app.base_url)

    assert connect_app.payloads[0]["installationId"] == site.installation_ari
    assert site.installation_ari is not None
    assert site.installation_ari.startswith("ari:cloud:ecosystem::installation/")


def test_install_token_shape() -> None:
    """The RS256 token names its key, the client key, the app and the request."""
    simulator = JiraSimulator(sites=("acme",), origin="http://jira.test")
    site = simulator.site("acme")
    installation = simulator.register_installation(
        "acme",
        APP_KEY,
        app_base_url="https://app.test/base",
        descriptor={"key": APP_KEY, "lifecycle": {"installed": "/lifecycle/installed"}},
    )
    url = "https://app.test/base/lifecycle/installed"
    token = simulator.lifecycle._token(site, installation, "installed", url)

    header = jwt.get_unverified_header(token)
    pem = simulator.keys.public_pem(header["kid"])
    assert pem is not None
    claims = jwt.decode(
        token,
        load_pem_public_key(pem.encode()),  # type: ignore[arg-type]
        algorithms=["RS256"],
        audience="https://app.test/base",
    )
    assert header["alg"] == "RS256"
    assert header["kid"] == simulator.keys.current_kid
    assert claims["iss"] == site.client_key
    assert claims["aud"] == ["https://app.test/base"]
    assert claims["qsh"] == qsh_for_url("POST", url, "https://app.test/base")
    assert claims["exp"] - claims["iat"] == 180
