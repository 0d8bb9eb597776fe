"""The Forge manifest: its content, its YAML, the CLI verbs, and Atlassian's validator.

`@forge/manifest` (npm, in tests/forge/oracle) is the oracle: the generated manifest must
pass the same validation `forge lint` and `forge deploy` run. Without node or the package
those tests skip - or fail when `CI` is set (the rule of tests/connect/oracles.py).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from agiletoolbox.adapters.connect.descriptor import ConnectPaths
from agiletoolbox.adapters.forge.manifest import (
    REMOTE_KEY,
    RESOURCE_PATH,
    SESSIONS_RESOURCE_PATH,
    ForgePaths,
    build_manifest,
    manifest_yaml,
)
from agiletoolbox.cli import main
from agiletoolbox.containers import descriptor
from agiletoolbox.settings import Settings
from tests.connect.oracles import unavailable

APP_ID = "ari:cloud:ecosystem::app/406d303d-0393-4ec4-ad7c-1435be94583a"
ENVIRON = {
    "AGILETOOLBOX_ENV": "test",
    "AGILETOOLBOX_BASE_URL": "https://poker.example.com",
    "AGILETOOLBOX_APP_KEY": "agile-toolbox-test",
    "AGILETOOLBOX_REGION": "US",
    "AGILETOOLBOX_REGION_BASE_URLS": "EU=https://eu.poker.example.com",
    "AGILETOOLBOX_FORGE_APP_ID": APP_ID,
}
ORACLE_DIR = Path(__file__).parent / "oracle"
FORGE_DIR = Path(__file__).resolve().parents[2] / "forge"
STATIC_DIR = Path(__file__).resolve().parents[2] / "src/agiletoolbox/adapters/http/static"
INSTALL_HINT = "run `npm ci` in tests/forge/oracle"

# Validates a manifest file with @forge/manifest and reads it back with `yaml`.
_VALIDATE = r"""
const fs = require('fs');
const { validate } = require('@forge/manifest');
const { parse } = require('yaml');
const file = process.argv[1];
validate(false, file).then((result) => {
  const parsed = parse(fs.readFileSync(file, 'utf8'));
  const errors = result.errors || [];
  process.stdout.write(JSON.stringify({success: result.success, errors, parsed}));
});
"""


def settings(**changes: str) -> Settings:
    return Settings.from_env({**ENVIRON, **changes})


def manifest(**changes: str) -> dict[str, Any]:
    chosen = settings(**changes)
    assert chosen.forge_app_id is not None
    return build_manifest(descriptor(chosen), app_id=chosen.forge_app_id)


def endpoints(built: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {endpoint["key"]: endpoint for endpoint in built["modules"]["endpoint"]}


# -- content -------------------------------------------------------------------------------


def test_the_remote_has_a_url_per_region_and_stores_end_user_data() -> None:
    (remote,) = manifest()["remotes"]
    assert remote["key"] == REMOTE_KEY
    assert remote["baseUrl"] == {
        "default": "https://poker.example.com",
        "EU": "https://eu.poker.example.com",
        "US": "https://poker.example.com",
    }
    assert "storage" in remote["operations"]
    assert remote["storage"] == {"inScopeEUD": True}


def test_a_single_region_deployment_still_names_its_region() -> None:
    built = manifest(AGILETOOLBOX_REGION="EU", AGILETOOLBOX_REGION_BASE_URLS="")
    assert built["remotes"][0]["baseUrl"] == {
        "default": "https://poker.example.com",
        "EU": "https://poker.example.com",
    }


def test_the_issue_panel_shows_the_room_page_and_calls_the_remote() -> None:
    built = manifest()
    (panel,) = built["modules"]["jira:issuePanel"]
    resource, sessions = built["resources"]
    assert panel["resource"] == resource["key"]
    assert resource["path"] == RESOURCE_PATH
    assert panel["icon"] == f"resource:{resource['key']};icon.svg"
    api = endpoints(built)[panel["resolver"]["endpoint"]]
    assert api["remote"] == REMOTE_KEY
    assert "route" not in api  # the page's own calls name their paths
    assert api["auth"] == {"appUserToken": {"enabled": True}, "appSystemToken": {"enabled": True}}
    assert built["permissions"]["external"]["fetch"]["client"] == [{"remote": REMOTE_KEY}]
    # The project page shows the refinement sessions and calls the same remote.
    (page,) = built["modules"]["jira:projectPage"]
    assert (page["resource"], sessions["path"]) == (sessions["key"], SESSIONS_RESOURCE_PATH)
    assert page["resolver"] == panel["resolver"]


def test_triggers_reach_their_routes_with_a_system_token() -> None:
    built = manifest()
    modules, routes = built["modules"], endpoints(built)

    def route_of(module: dict[str, Any]) -> str:
        endpoint = routes[module["endpoint"]]
        assert endpoint["auth"] == {"appSystemToken": {"enabled": True}}
        path: str = endpoint["route"]["path"]
        return path

    (lifecycle,) = modules["trigger"]
    assert lifecycle["events"] == ["avi:forge:installed:app", "avi:forge:upgraded:app"]
    assert route_of(lifecycle) == "/forge/lifecycle"
    (tick,) = modules["scheduledTrigger"]
    assert tick["interval"] == "hour"
    assert route_of(tick) == "/forge/tick"
    (bye,) = modules["preUninstall"]
    assert route_of(bye) == "/forge/uninstall"
    (dare,) = modules["migration:dataResidency"]
    assert dare == {
        "key": dare["key"],
        "remote": REMOTE_KEY,
        "path": "/forge/dare",
        "maxMigrationDurationHours": 1.5,
    }


def test_paths_can_be_moved() -> None:
    chosen = settings()
    assert chosen.forge_app_id is not None
    paths = ForgePaths(lifecycle="/f/life", tick="/f/tick", uninstall="/f/bye", dare="/f/dare")
    built = build_manifest(descriptor(chosen), app_id=chosen.forge_app_id, paths=paths)
    routes = {e.get("route", {}).get("path") for e in built["modules"]["endpoint"]}
    assert routes == {None, "/f/life", "/f/tick", "/f/bye"}
    assert built["modules"]["migration:dataResidency"][0]["path"] == "/f/dare"


def test_keys_are_unique_and_every_reference_resolves() -> None:
    built = manifest()
    keys = [
        entry["key"]
        for section in ("modules", "connectModules")
        for entries in built[section].values()
        for entry in entries
    ]
    assert len(keys) == len(set(keys))
    routes = endpoints(built)
    remotes = {remote["key"] for remote in built["remotes"]}
    for kind in ("trigger", "scheduledTrigger", "preUninstall"):
        for module in built["modules"][kind]:
            assert module["endpoint"] in routes
    assert {endpoint["remote"] for endpoint in routes.values()} <= remotes
    assert built["app"]["connect"]["remote"] in remotes


def test_scopes() -> None:
    scopes = manifest()["permissions"]["scopes"]
    assert len(scopes) == len(set(scopes))
    assert set(scopes) == {
        "read:jira-work",
        "write:jira-work",
        "read:jira-user",
        "read:app-system-token",
        "read:app-user-token",
        "report:personal-data",
        "read:connect-jira",
        "write:connect-jira",
    }


def test_the_connect_app_carries_on() -> None:
    chosen = settings()
    connect = descriptor(chosen)
    built = manifest()
    app = built["app"]
    assert app["id"] == APP_ID
    assert app["runtime"] == {"name": "nodejs24.x"}
    assert app["connect"] == {"key": "agile-toolbox-test", "remote": REMOTE_KEY}
    assert app["licensing"] == {"enabled": connect["enableLicensing"]}
    modules = built["connectModules"]
    paths = ConnectPaths()
    assert modules["jira:lifecycle"] == [
        {
            "key": "connect-lifecycle",
            "installed": paths.installed,
            "uninstalled": paths.uninstalled,
            "enabled": paths.enabled,
            "disabled": paths.disabled,
        }
    ]
    assert modules["jira:jiraIssueGlances"] == connect["modules"]["jiraIssueGlances"]
    assert modules["jira:dialogs"] == connect["modules"]["dialogs"]
    assert modules["jira:webItems"] == connect["modules"]["webItems"]
    assert modules["jira:configurePage"] == [connect["modules"]["configurePage"]]


@pytest.mark.parametrize(
    "app_id",
    ["", "ari:cloud:ecosystem::app/", "ari:cloud:ecosystem::app/not-a-uuid", APP_ID + "\n"],
)
def test_an_app_id_forge_would_refuse_is_refused(app_id: str) -> None:
    with pytest.raises(ValueError, match="app id"):
        build_manifest(descriptor(settings()), app_id=app_id)


def test_a_region_forge_does_not_know_is_refused() -> None:
    connect = descriptor(settings())
    connect["regionBaseUrls"]["ATLANTIS"] = "https://atlantis.poker.example.com"
    with pytest.raises(ValueError, match="ATLANTIS"):
        build_manifest(connect, app_id=APP_ID)


# -- YAML ----------------------------------------------------------------------------------


def test_yaml_block_style() -> None:
    data = {
        "app": {"id": APP_ID, "ratio": 1.5, "count": 3, "on": True, "none": None},
        "list": [{"key": "a", "events": ["x:y", "z"]}, "plain", [1, 2]],
        "empty": {},
        "nothing": [],
    }
    assert manifest_yaml(data) == (
        "app:\n"
        f"  id: {APP_ID}\n"
        "  ratio: 1.5\n"
        "  count: 3\n"
        '  "on": true\n'
        "  none: null\n"
        "list:\n"
        "  - key: a\n"
        "    events:\n"
        "      - x:y\n"
        "      - z\n"
        "  - plain\n"
        "  - - 1\n"
        "    - 2\n"
        "empty: {}\n"
        "nothing: []\n"
    )


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("https://poker.example.com/a-b_c", "https://poker.example.com/a-b_c"),
        ("resource:room;icon.svg", "resource:room;icon.svg"),
        ("true", '"true"'),
        ("No", '"No"'),
        ("1.5", '"1.5"'),
        ("", '""'),
        ("*.atl-paas.net", '"*.atl-paas.net"'),
        ("key: value", '"key: value"'),
        ("trailing:", '"trailing:"'),
        ("a # b", '"a # b"'),
        ('say "hi"\\', '"say \\"hi\\"\\\\"'),
        ("tab\tnew\nline\x7f", '"tab\\x09new\\x0aline\\x7f"'),
        ("line\u2028sep", '"line\\u2028sep"'),
        ("ünïcödé", '"ünïcödé"'),
    ],
)
def test_yaml_strings_are_quoted_when_plain_would_be_misread(text: str, shown: str) -> None:
    assert manifest_yaml({"k": text}) == f"k: {shown}\n"


def test_yaml_refuses_what_it_cannot_write() -> None:
    with pytest.raises(TypeError):
        manifest_yaml({"k": object()})


# -- command line --------------------------------------------------------------------------


@pytest.fixture
def environ(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in ENVIRON.items():
        monkeypatch.setenv(name, value)


@pytest.mark.usefixtures("environ")
def test_forge_manifest_writes_the_manifest(tmp_path: Path) -> None:
    output = tmp_path / "manifest.yml"
    assert main(["forge-manifest", "--output", str(output)]) == 0
    assert output.read_text(encoding="utf-8") == manifest_yaml(manifest())


@pytest.mark.usefixtures("environ")
def test_forge_manifest_prints_to_standard_output(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["forge-manifest"]) == 0
    assert capsys.readouterr().out == manifest_yaml(manifest())


@pytest.mark.usefixtures("environ")
def test_forge_manifest_needs_the_app_id(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("AGILETOOLBOX_FORGE_APP_ID")
    assert main(["forge-manifest"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "AGILETOOLBOX_FORGE_APP_ID is required" in captured.err


@pytest.mark.usefixtures("environ")
def test_forge_manifest_reports_a_path_it_cannot_write(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["forge-manifest", "--output", str(tmp_path / "missing" / "m.yml")]) == 1
    assert "cannot write" in capsys.readouterr().err


@pytest.mark.usefixtures("environ")
def test_descriptor_prints_the_connect_descriptor(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["descriptor"]) == 0
    assert json.loads(capsys.readouterr().out) == descriptor(settings())


@pytest.mark.usefixtures("environ")
def test_bad_settings_are_exit_status_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AGILETOOLBOX_BASE_URL", "ftp://poker.example.com")
    assert main(["descriptor"]) == 2
    assert "AGILETOOLBOX_BASE_URL" in capsys.readouterr().err


# -- Atlassian's validator -----------------------------------------------------------------


def validated(path: Path) -> dict[str, Any]:
    """What `@forge/manifest` says of the manifest at `path`, and the YAML read back."""
    node = shutil.which("node")
    if node is None:
        unavailable("node is not installed; the @forge/manifest oracle needs it")
    if not (ORACLE_DIR / "node_modules" / "@forge" / "manifest" / "package.json").is_file():
        unavailable(f"the @forge/manifest oracle is not installed: {INSTALL_HINT}")
    done = subprocess.run(  # noqa: S603 - a fixed script, no shell
        [node, "-e", _VALIDATE, str(path)],
        cwd=ORACLE_DIR,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


def placed(folder: Path, built: dict[str, Any], *, resource: bool = True) -> Path:
    """`built` as manifest.yml in `folder`, with a stand-in for the built room page."""
    if resource:
        for path in (RESOURCE_PATH, SESSIONS_RESOURCE_PATH):
            page = folder / path
            page.mkdir(parents=True)
            (page / "index.html").write_text("<!doctype html><title>page</title>\n", "utf-8")
            shutil.copy(STATIC_DIR / "icon.svg", page / "icon.svg")
    path = folder / "manifest.yml"
    path.write_text(manifest_yaml(built), encoding="utf-8")
    return path


def test_atlassian_accepts_the_manifest(tmp_path: Path) -> None:
    built = manifest()
    # Free text in the manifest goes through the same emitter: read it back exactly.
    built["app"]["description"] = 'Poker: "true" # no comment\n\tÜ\u2028\\ ok'
    answer = validated(placed(tmp_path, built))
    assert answer["errors"] == []
    assert answer["success"] is True
    assert answer["parsed"] == built


def test_atlassian_accepts_every_region_setup(tmp_path: Path) -> None:
    built = manifest(AGILETOOLBOX_REGION="EU", AGILETOOLBOX_REGION_BASE_URLS="")
    answer = validated(placed(tmp_path, built))
    assert answer["errors"] == []


@pytest.mark.parametrize(
    ("where", "change"),
    [
        (
            "an unknown interval",
            lambda m: m["modules"]["scheduledTrigger"][0].update(interval="minute"),
        ),
        ("a long remote key", lambda m: m["remotes"][0].update(key="r" * 24)),
        ("a missing resource", lambda m: m["resources"].clear()),
    ],
)
def test_the_oracle_refuses_a_broken_manifest(tmp_path: Path, where: str, change: Any) -> None:
    built = manifest()
    change(built)
    answer = validated(placed(tmp_path, built))
    assert answer["success"] is False, where
    assert any(error["level"] == "error" for error in answer["errors"]), where


def test_the_built_room_page_is_what_the_manifest_declares(tmp_path: Path) -> None:
    """`npm run build` in forge/ makes the resource the manifest points at (needs `npm ci`)."""
    node = shutil.which("node")
    if node is None or not (FORGE_DIR / "node_modules" / "esbuild").is_dir():
        missing = "the Forge app's build tools are not installed: run `npm ci` in forge/"
        if os.environ.get("CI"):
            pytest.fail(missing)
        pytest.skip(missing)
    path = placed(tmp_path, manifest(), resource=False)
    done = subprocess.run(  # noqa: S603 - our own build script, no shell
        [node, str(FORGE_DIR / "scripts" / "build.js"), "--manifest", str(path)],
        cwd=FORGE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    room = tmp_path / RESOURCE_PATH
    for source in STATIC_DIR.iterdir():
        assert (room / source.name).read_bytes() == source.read_bytes(), source.name
    page = (room / "index.html").read_text(encoding="utf-8")
    assert 'data-host="forge"' in page
    assert 'data-remote="https://poker.example.com"' in page
    assert '<script type="module" src="boot.js"></script>' in page
    assert "<script>" not in page  # Forge's content security policy allows no inline script
    assert (room / "forge-bridge.js").stat().st_size > 0
    answer = validated(path)
    assert answer["errors"] == []
