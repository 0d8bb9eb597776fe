"""The Forge manifest (`manifest.yml`), derived from the Connect descriptor.

The app ships as a Forge app whose backend is this server, a Forge Remote
(forge-remote.md §1): one remote with a base URL per region, whose storage holds
in-scope end-user data (account ids); an issue panel (the room) and a project page (the
refinement sessions) whose Custom UI pages call the remote through a resolver endpoint
that carries the system and user tokens; the
install/upgrade trigger, an hourly scheduled trigger (the system token lives at most a
few hours and no other event refreshes it), the pre-uninstall hook and the
data-residency migration hooks, each delivered to a route of the remote.

The manifest is built from the Connect descriptor rather than beside it, so the two can
never disagree: `app.connect` keeps the Marketplace key and names the same remote,
`connectModules` carries the descriptor's lifecycle callbacks (their `installed`
payload links the Connect tenant to its Forge installation) and its modules, the
legacy Connect scopes stay granted, and licensing stays as it was (§5). The Connect
`dare-migration` callback is the one thing left behind: Forge sends realm migrations
to the `migration:dataResidency` hooks, with an invocation token instead of a Connect
JWT, as Atlassian's own descriptor converter does.

`manifest_yaml` writes the data as YAML with a small emitter (block style, strings
quoted whenever a plain scalar could be read as something else).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from attrs import frozen

RUNTIME = "nodejs24.x"
REMOTE_KEY = "agiletoolbox"
RESOURCE_KEY = "room"
# Where `npm run build` in forge/ writes the room page, relative to manifest.yml.
RESOURCE_PATH = "static/room"
SESSIONS_RESOURCE_KEY = "sessions"
# Where `npm run build` writes the project page (the refinement sessions).
SESSIONS_RESOURCE_PATH = "static/sessions"
LIFECYCLE_EVENTS = ("avi:forge:installed:app", "avi:forge:upgraded:app")
# The product scopes the tokens are good for, the tokens themselves, the personal-data
# reporting API, and `read:jira-user` for the names the browser reads from Jira.
SCOPES = (
    "read:jira-work",
    "write:jira-work",
    "read:jira-user",
    "read:app-system-token",
    "read:app-user-token",
    "report:personal-data",
)
# Jira serves avatars from Gravatar, which falls back to Atlassian's avatar service.
AVATAR_SOURCES = ("https://secure.gravatar.com", "https://*.atl-paas.net")
# The region keys a remote's `baseUrl` may carry besides `default`.
FORGE_REGIONS = frozenset({"US", "EU", "AU", "DE", "SG", "CA", "IN", "KR", "JP", "GB", "CH"})
_DARE_CALLBACK = "dare-migration"

_APP_ID = re.compile(r"ari:cloud:ecosystem::app/[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")


@frozen
class ForgePaths:
    """Where the remote serves the Forge deliveries, relative to its base URL."""

    lifecycle: str = "/forge/lifecycle"
    tick: str = "/forge/tick"
    uninstall: str = "/forge/uninstall"
    dare: str = "/forge/dare"


def _endpoint(key: str, path: str | None = None, *, user_token: bool = False) -> dict[str, Any]:
    auth: dict[str, Any] = {"appSystemToken": {"enabled": True}}
    if user_token:
        auth = {"appUserToken": {"enabled": True}, **auth}
    endpoint: dict[str, Any] = {"key": key, "remote": REMOTE_KEY}
    if path is not None:
        endpoint["route"] = {"path": path}
    endpoint["auth"] = auth
    return endpoint


def _modules(name: str, paths: ForgePaths, max_migration_hours: float) -> dict[str, Any]:
    return {
        "jira:issuePanel": [
            {
                "key": "room-panel",
                "resource": RESOURCE_KEY,
                "resolver": {"endpoint": "room-api"},
                "title": name,
                "icon": f"resource:{RESOURCE_KEY};icon.svg",
            }
        ],
        "jira:projectPage": [
            {
                "key": "sessions-page",
                "resource": SESSIONS_RESOURCE_KEY,
                "resolver": {"endpoint": "room-api"},
                "title": name,
                "icon": f"resource:{SESSIONS_RESOURCE_KEY};icon.svg",
            }
        ],
        "trigger": [
            {"key": "installation", "endpoint": "forge-lifecycle", "events": list(LIFECYCLE_EVENTS)}
        ],
        "scheduledTrigger": [{"key": "hourly-tick", "endpoint": "forge-tick", "interval": "hour"}],
        "preUninstall": [{"key": "before-uninstall", "endpoint": "forge-uninstall"}],
        "migration:dataResidency": [
            {
                "key": "realm-migration",
                "remote": REMOTE_KEY,
                "path": paths.dare,
                "maxMigrationDurationHours": max_migration_hours,
            }
        ],
        "endpoint": [
            _endpoint("room-api", user_token=True),
            _endpoint("forge-lifecycle", paths.lifecycle),
            _endpoint("forge-tick", paths.tick),
            _endpoint("forge-uninstall", paths.uninstall),
        ],
    }


def _connect_modules(descriptor: Mapping[str, Any]) -> dict[str, Any]:
    lifecycle = {k: v for k, v in descriptor["lifecycle"].items() if k != _DARE_CALLBACK}
    modules: dict[str, Any] = {"jira:lifecycle": [{"key": "connect-lifecycle", **lifecycle}]}
    for kind, content in descriptor["modules"].items():
        modules[f"jira:{kind}"] = list(content) if isinstance(content, list) else [content]
    return modules


def _base_urls(descriptor: Mapping[str, Any]) -> dict[str, str]:
    urls = {"default": str(descriptor["baseUrl"])}
    for realm, url in descriptor["regionBaseUrls"].items():
        if realm not in FORGE_REGIONS:
            raise ValueError(f"Forge has no region called {realm!r}")
        urls[realm] = str(url)
    return urls


def build_manifest(
    descriptor: Mapping[str, Any], *, app_id: str, paths: ForgePaths | None = None
) -> dict[str, Any]:
    """The manifest of the Forge app that succeeds the Connect app `descriptor`.

    `descriptor` is what `build_descriptor` returns (already checked); `app_id` is the
    Forge app id, `ari:cloud:ecosystem::app/<uuid>`. `ValueError` for an app id or a
    region Forge would refuse.
    """
    if not _APP_ID.fullmatch(app_id):
        raise ValueError("the Forge app id must be ari:cloud:ecosystem::app/<uuid>")
    paths = paths or ForgePaths()
    hours = descriptor["dataResidency"]["maxMigrationDurationHours"]
    connect_scopes = [f"{scope.lower()}:connect-jira" for scope in descriptor["scopes"]]
    return {
        "app": {
            "id": app_id,
            "description": descriptor["description"],
            "runtime": {"name": RUNTIME},
            "licensing": {"enabled": bool(descriptor["enableLicensing"])},
            "connect": {"key": descriptor["key"], "remote": REMOTE_KEY},
        },
        "modules": _modules(descriptor["name"], paths, hours),
        "connectModules": _connect_modules(descriptor),
        "remotes": [
            {
                "key": REMOTE_KEY,
                "baseUrl": _base_urls(descriptor),
                "operations": ["storage", "compute"],
                "storage": {"inScopeEUD": True},
            }
        ],
        "resources": [
            {"key": RESOURCE_KEY, "path": RESOURCE_PATH},
            {"key": SESSIONS_RESOURCE_KEY, "path": SESSIONS_RESOURCE_PATH},
        ],
        "permissions": {
            "scopes": [*SCOPES, *connect_scopes],
            # The room page sets a few inline style attributes (the results' bars).
            "content": {"styles": ["unsafe-inline"]},
            "external": {
                # The room's live socket goes straight to the remote.
                "fetch": {"client": [{"remote": REMOTE_KEY}]},
                "images": [{"address": source} for source in AVATAR_SOURCES],
            },
        },
    }


# -- YAML --------------------------------------------------------------------------------

_PLAIN = re.compile(r"[A-Za-z/][A-Za-z0-9_./:;=+-]*")
_LOOKS_TYPED = frozenset({"true", "false", "null", "yes", "no", "on", "off", "y", "n"})
_INDENT = "  "


def _escape(char: str) -> str:
    code = ord(char)
    if char in '"\\':
        return "\\" + char
    if code < 0x20 or 0x7F <= code <= 0x9F:
        return f"\\x{code:02x}"
    if code in (0x2028, 0x2029, 0xFEFF):
        return f"\\u{code:04x}"
    return char


def _scalar(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if not isinstance(value, str):
        raise TypeError(f"no YAML form for {type(value).__name__}")
    if _PLAIN.fullmatch(value) and not value.endswith(":") and value.lower() not in _LOOKS_TYPED:
        return value
    return '"' + "".join(_escape(char) for char in value) + '"'


def _is_block(value: object) -> bool:
    return isinstance(value, Mapping | list | tuple) and len(value) > 0


def _empty(value: object) -> str:
    return "{}" if isinstance(value, Mapping) else "[]"


def _lines(value: Mapping[str, Any] | Sequence[Any], depth: int) -> list[str]:
    pad = _INDENT * depth
    lines: list[str] = []
    if isinstance(value, Mapping):
        for key, item in value.items():
            head = f"{pad}{_scalar(str(key))}:"
            if _is_block(item):
                lines += [head, *_lines(item, depth + 1)]
            else:
                shown = _empty(item) if isinstance(item, Mapping | list | tuple) else _scalar(item)
                lines.append(f"{head} {shown}")
        return lines
    for item in value:
        if _is_block(item):
            nested = _lines(item, depth + 1)
            # The first line of a nested block shares the dash's line.
            lines += [f"{pad}- {nested[0].lstrip()}", *nested[1:]]
        else:
            shown = _empty(item) if isinstance(item, Mapping | list | tuple) else _scalar(item)
            lines.append(f"{pad}- {shown}")
    return lines


def manifest_yaml(manifest: Mapping[str, Any]) -> str:
    """`manifest` as YAML text (block style, ending in a newline)."""
    return "\n".join(_lines(manifest, 0)) + "\n"
