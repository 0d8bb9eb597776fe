"""The Connect descriptor: its content, and validation against Atlassian's JSON schema."""

from __future__ import annotations

import json
from typing import Any

import pytest

from agiletoolbox.adapters.connect.descriptor import ConnectPaths, Vendor, build_descriptor
from tests.connect.oracles import descriptor_schema, jsonschema_module

VENDOR = Vendor("Agile Toolbox", "https://agiletoolbox.example.com")


def descriptor(**changes: Any) -> dict[str, Any]:
    arguments: dict[str, Any] = {
        "app_key": "agile-toolbox",
        "name": "Agile Toolbox",
        "base_url": "https://poker.example.com/",
        "vendor": VENDOR,
        "region_base_urls": {
            "US": "https://poker.example.com",
            "EU": "https://eu.poker.example.com/",
        },
        "max_migration_hours": 1.5,
    }
    arguments.update(changes)
    return build_descriptor(**arguments)


def test_top_level() -> None:
    built = descriptor()
    assert built["key"] == "agile-toolbox"
    assert built["baseUrl"] == "https://poker.example.com"
    assert built["authentication"] == {"type": "jwt"}
    assert built["scopes"] == ["READ", "WRITE"]
    assert built["apiMigrations"] == {"signed-install": True, "context-qsh": True, "gdpr": True}
    assert built["regionBaseUrls"] == {
        "EU": "https://eu.poker.example.com",
        "US": "https://poker.example.com",
    }
    assert built["dataResidency"] == {"maxMigrationDurationHours": 1.5}
    assert built["vendor"] == {"name": VENDOR.name, "url": VENDOR.url}
    json.dumps(built)  # JSON-ready as it is


def test_lifecycle_callbacks_match_the_routes() -> None:
    paths = ConnectPaths()
    assert descriptor()["lifecycle"] == {
        "installed": paths.installed,
        "uninstalled": paths.uninstalled,
        "enabled": paths.enabled,
        "disabled": paths.disabled,
        "dare-migration": paths.dare_migration,
    }


def test_modules_open_the_room_for_the_issue() -> None:
    modules = descriptor()["modules"]
    (glance,) = modules["jiraIssueGlances"]
    (dialog,) = modules["dialogs"]
    (item,) = modules["webItems"]
    assert item["target"] == {"type": "dialogmodule", "options": {"key": dialog["key"]}}
    for url in (glance["target"]["url"], dialog["url"]):
        assert url.startswith(ConnectPaths().room + "?")
        for variable in ("{issue.key}", "{issue.id}", "{project.key}", "{issuetype.id}"):
            assert variable in url
    assert modules["configurePage"]["url"] == ConnectPaths().configure


def test_a_project_page_lists_the_projects_sessions() -> None:
    (page,) = descriptor()["modules"]["jiraProjectPages"]
    assert page["key"] == "sessions"
    assert page["url"] == (
        "/sessions?projectKey={project.key}&projectId={project.id}&session={ac.session}"
    )
    assert page["iconUrl"] == ConnectPaths().icon


def test_paths_can_be_moved() -> None:
    built = descriptor(paths=ConnectPaths(room="/ui/room", installed="/connect/installed"))
    assert built["lifecycle"]["installed"] == "/connect/installed"
    assert built["modules"]["dialogs"][0]["url"].startswith("/ui/room?")


def test_no_regions_is_an_empty_map() -> None:
    assert descriptor(region_base_urls=None)["regionBaseUrls"] == {}


@pytest.mark.parametrize(
    "changes",
    [
        {"app_key": "has space"},
        {"app_key": "x" * 81},
        {"app_key": ""},
        {"name": ""},
        {"name": "n" * 81},
        {"base_url": "ftp://poker.example.com"},
        {"base_url": "poker.example.com"},
        {"base_url": "https://poker.example.com?x=1"},
        {"base_url": "https://user@poker.example.com"},
        {"base_url": "https://poker.example.com/" + "p" * 200},
        {"region_base_urls": {"eu": "https://eu.example.com"}},
        {"region_base_urls": {"EU": "eu.example.com"}},
        {"max_migration_hours": 0.25},
        {"max_migration_hours": 24.5},
        {"max_migration_hours": 1.2},
        {"vendor": Vendor("x", "not a url")},
    ],
)
def test_settings_jira_would_refuse(changes: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"\w"):
        descriptor(**changes)


@pytest.mark.parametrize("hours", [0.5, 1, 1.5, 23.5, 24])
def test_migration_hours_in_half_hours(hours: float) -> None:
    assert descriptor(max_migration_hours=hours)["dataResidency"] == {
        "maxMigrationDurationHours": hours
    }


# -- the schema ----------------------------------------------------------------------------

# The schema ACE ships predates two of the migrations Atlassian documents (connect.md §1.2,
# connect-active-api-migrations): its `apiMigrations` lists `gdpr` alone and forbids
# anything else. These two booleans are the whole patch.
NEWER_API_MIGRATIONS = ("signed-install", "context-qsh")


def patched_schema() -> dict[str, Any]:
    schema = descriptor_schema()
    migrations = schema["properties"]["apiMigrations"]["properties"]
    for name in NEWER_API_MIGRATIONS:
        assert name not in migrations, "the schema caught up; drop the patch"
        migrations[name] = {"type": "boolean"}
    return schema


def test_the_descriptor_is_valid_against_the_connect_schema() -> None:
    jsonschema = jsonschema_module()
    validator = jsonschema.Draft4Validator(patched_schema())
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(descriptor())]
    assert errors == []


def test_only_the_newer_migrations_need_the_patch() -> None:
    jsonschema = jsonschema_module()
    validator = jsonschema.Draft4Validator(descriptor_schema())
    errors = list(validator.iter_errors(descriptor()))
    assert [list(error.absolute_path) for error in errors] == [["apiMigrations"]]
    assert all(name in errors[0].message for name in NEWER_API_MIGRATIONS)
