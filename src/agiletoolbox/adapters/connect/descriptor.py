"""The Connect app descriptor (`atlassian-connect.json`), built from plain settings.

What Jira reads to install the app (connect.md §1): JWT authentication; the API
migrations `signed-install`, `context-qsh` and `gdpr`; the least scopes that do the job
(READ for fields, issues and edit metadata, WRITE to set the estimate and comment on it); the four
lifecycle callbacks and the residency-migration hooks; the regional base URLs and the
longest migration the app needs; and the modules that open a room for an issue - an
issue glance, and a dialog opened by an item in the issue's tools menu - a project page
(the project's refinement sessions), and the configure page. Every issue module URL
carries the issue key, issue id, project key, project id and issue type id, so the room
page knows its issue and its saved defaults; the project page's carries the project's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from attrs import frozen

DESCRIPTOR_PATH = "/atlassian-connect.json"
SCOPES = ("READ", "WRITE")
DEFAULT_MAX_MIGRATION_HOURS = 1.5

_APP_KEY = re.compile(r"[A-Za-z0-9._-]{1,80}")
_REALM = re.compile(r"[A-Z]{2,8}")
_ISSUE_CONTEXT = (
    "issueKey={issue.key}&issueId={issue.id}&projectKey={project.key}"
    "&projectId={project.id}&issueTypeId={issuetype.id}"
)


@frozen
class ConnectPaths:
    """Where the app serves what the descriptor points at, relative to its base URL.

    The HTTP routes mount themselves at these paths, so descriptor and routes agree.
    """

    installed: str = "/lifecycle/installed"
    uninstalled: str = "/lifecycle/uninstalled"
    enabled: str = "/lifecycle/enabled"
    disabled: str = "/lifecycle/disabled"
    dare_migration: str = "/lifecycle/dare-migration"
    room: str = "/room"
    sessions: str = "/sessions"
    configure: str = "/configure"
    icon: str = "/static/icon.svg"


@frozen
class Vendor:
    """Who offers the app, as the Marketplace shows it."""

    name: str
    url: str


def _checked_url(url: str, what: str) -> str:
    parts = urlsplit(url)
    if (
        parts.scheme not in ("http", "https")
        or not parts.netloc
        or parts.query
        or parts.fragment
        or "@" in parts.netloc
        or len(url) > 200
    ):
        raise ValueError(f"{what} must be an absolute http(s) URL without query or fragment")
    return url.rstrip("/")


def _checked_hours(hours: float) -> float:
    # Atlassian takes 0.5 to 24 hours in steps of half an hour.
    if not 0.5 <= hours <= 24 or (hours * 2) != int(hours * 2):
        raise ValueError("the migration duration must be 0.5 to 24 hours in half hours")
    return float(hours)


def _room_url(paths: ConnectPaths, view: str) -> str:
    return f"{paths.room}?view={view}&{_ISSUE_CONTEXT}"


def _modules(name: str, paths: ConnectPaths) -> dict[str, Any]:
    icon = {"url": paths.icon, "width": 24, "height": 24}
    return {
        "jiraIssueGlances": [
            {
                "key": "room-glance",
                "name": {"value": name},
                "icon": icon,
                "content": {"type": "label", "label": {"value": "Estimate"}},
                "target": {"type": "web_panel", "url": _room_url(paths, "glance")},
            }
        ],
        "dialogs": [
            {
                "key": "room-dialog",
                "url": _room_url(paths, "dialog"),
                "options": {"size": "large", "chrome": False},
            }
        ],
        "webItems": [
            {
                "key": "room-open",
                "name": {"value": name},
                "location": "jira.issue.tools",
                "context": "addon",
                "target": {"type": "dialogmodule", "options": {"key": "room-dialog"}},
            }
        ],
        "jiraProjectPages": [
            {
                "key": "sessions",
                "name": {"value": name},
                # `{ac.session}`: a link to the page with `ac.session=<id>` opens that session.
                "url": f"{paths.sessions}?projectKey={{project.key}}&projectId={{project.id}}"
                "&session={ac.session}",
                "iconUrl": paths.icon,
                "weight": 100,
            }
        ],
        "configurePage": {
            "key": "configure",
            "name": {"value": f"{name} settings"},
            "url": paths.configure,
            "conditions": [{"condition": "user_is_admin"}],
        },
    }


def build_descriptor(
    *,
    app_key: str,
    name: str,
    base_url: str,
    vendor: Vendor,
    region_base_urls: Mapping[str, str] | None = None,
    max_migration_hours: float = DEFAULT_MAX_MIGRATION_HOURS,
    description: str = "Planning poker for Jira issues, private by design.",
    enable_licensing: bool = False,
    paths: ConnectPaths | None = None,
) -> dict[str, Any]:
    """The descriptor as a JSON-ready dict; `ValueError` for settings Jira would refuse.

    `region_base_urls` maps realm names (`US`, `EU`, …) to the base URL serving that
    realm; it should include this deployment's own realm when it serves one.
    """
    if not _APP_KEY.fullmatch(app_key):
        raise ValueError("the app key must be 1-80 letters, digits, '.', '_' or '-'")
    if not name or len(name) > 80:
        raise ValueError("the app name must be 1-80 characters")
    paths = paths or ConnectPaths()
    regions = {}
    for realm, url in sorted((region_base_urls or {}).items()):
        if not _REALM.fullmatch(realm):
            raise ValueError("a realm name is 2-8 capital letters")
        regions[realm] = _checked_url(url, "a regional base URL")
    return {
        "key": app_key,
        "name": name,
        "description": description,
        "vendor": {"name": vendor.name, "url": _checked_url(vendor.url, "the vendor URL")},
        "baseUrl": _checked_url(base_url, "the base URL"),
        "regionBaseUrls": regions,
        "dataResidency": {"maxMigrationDurationHours": _checked_hours(max_migration_hours)},
        "authentication": {"type": "jwt"},
        "apiVersion": 1,
        "enableLicensing": enable_licensing,
        "scopes": list(SCOPES),
        "apiMigrations": {"signed-install": True, "context-qsh": True, "gdpr": True},
        "lifecycle": {
            "installed": paths.installed,
            "uninstalled": paths.uninstalled,
            "enabled": paths.enabled,
            "disabled": paths.disabled,
            "dare-migration": paths.dare_migration,
        },
        "modules": _modules(name, paths),
    }
