"""Settings from the environment: defaults, validation, production rules, redaction."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from agiletoolbox.domain.tenant import Region
from agiletoolbox.settings import Environment, EventLoop, Settings, SettingsError

SECRET = "c2VjcmV0LWtleS1vZi10aGlydHktdHdvLWJ5dGVzISE="
PRODUCTION = {
    "AGILETOOLBOX_ENV": "production",
    "AGILETOOLBOX_BASE_URL": "https://poker.example.com",
    "AGILETOOLBOX_DATABASE_URL": "postgresql://app:db-password@db.internal/poker",
    "AGILETOOLBOX_SECRET_KEY": SECRET,
}


def test_defaults_follow_the_design() -> None:
    settings = Settings.from_env({})
    assert settings == Settings()
    assert settings.env is Environment.DEVELOPMENT
    assert not settings.production
    assert (settings.host, settings.port) == ("127.0.0.1", 8080)
    assert settings.base_url == "http://127.0.0.1:8080"
    assert settings.region is Region.US
    assert settings.database_url is None
    assert settings.data_dir == Path(".agiletoolbox")
    assert (
        settings.retention_uninstalled_days,
        settings.retention_idle_room_days,
        settings.retention_error_report_days,
    ) == (30, 90, 30)


def test_every_variable_is_read() -> None:
    settings = Settings.from_env(
        {
            "AGILETOOLBOX_ENV": "test",
            "AGILETOOLBOX_HOST": "0.0.0.0",  # noqa: S104 - only parsed
            "AGILETOOLBOX_PORT": "9000",
            "AGILETOOLBOX_APP_KEY": "my-app",
            "AGILETOOLBOX_REGION": "eu",
            "AGILETOOLBOX_REGION_BASE_URLS": "US=https://us.example.com, EU=https://eu.example.com/",
            "AGILETOOLBOX_DATA_DIR": "/var/lib/poker",
            "AGILETOOLBOX_FORGE_APP_ID": "ari:cloud:ecosystem::app/1234",
            "AGILETOOLBOX_RETENTION_IDLE_ROOM_DAYS": "7",
            "AGILETOOLBOX_REGION_PEER_KEY": "p" * 40,
            "AGILETOOLBOX_METRICS_TOKEN": "t" * 40,
        }
    )
    assert settings.env is Environment.TEST
    assert settings.metrics_token == "t" * 40
    assert settings.port == 9000
    assert settings.region is Region.EU
    assert settings.app_key == "my-app"
    assert settings.region_base_urls == (
        (Region.EU, "https://eu.example.com"),
        (Region.US, "https://us.example.com"),
    )
    assert settings.data_dir == Path("/var/lib/poker")
    assert settings.forge_app_id == "ari:cloud:ecosystem::app/1234"
    assert settings.retention_idle_room_days == 7


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(SettingsError) as refused:
        Settings.from_env(
            {
                "AGILETOOLBOX_ENV": "staging",
                "AGILETOOLBOX_PORT": "http",
                "AGILETOOLBOX_REGION": "APAC",
                "AGILETOOLBOX_BASE_URL": "poker.example.com",
                "AGILETOOLBOX_RETENTION_UNINSTALLED_DAYS": "0",
                "AGILETOOLBOX_RETENTION_ERROR_REPORT_DAYS": "often",
                "AGILETOOLBOX_DATABASE_URL": "mysql://x",
            }
        )
    text = str(refused.value)
    for name in ("ENV", "PORT", "REGION", "BASE_URL", "DATABASE_URL", "RETENTION_UNINSTALLED_DAYS"):
        assert f"AGILETOOLBOX_{name}" in text
    assert len(refused.value.problems) == 7


def test_production_refuses_unsafe_settings() -> None:
    assert Settings.from_env(PRODUCTION).production
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({"AGILETOOLBOX_ENV": "production"})
    text = str(refused.value)
    assert "AGILETOOLBOX_SECRET_KEY is required" in text
    assert "AGILETOOLBOX_DATABASE_URL is required" in text
    assert "AGILETOOLBOX_BASE_URL must use https" in text


def test_secrets_never_show() -> None:
    settings = Settings.from_env(
        {
            **PRODUCTION,
            "AGILETOOLBOX_REGION_PEER_KEY": "q" * 40,
            "AGILETOOLBOX_METRICS_TOKEN": "w" * 40,
        }
    )
    shown = f"{settings!r} {settings.redacted()}"
    for secret in (SECRET, "db-password", "q" * 40, "w" * 40):
        assert secret not in shown
    assert settings.redacted()["AGILETOOLBOX_DATABASE_URL"] == (
        "postgresql://app:***@db.internal/poker"
    )
    assert settings.redacted()["AGILETOOLBOX_SECRET_KEY"] == "***"


def test_a_bad_secret_is_not_echoed_in_errors() -> None:
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({**PRODUCTION, "AGILETOOLBOX_REGION_PEER_KEY": "short-peer-secret"})
    assert "short-peer-secret" not in str(refused.value)
    with pytest.raises(SettingsError, match="AGILETOOLBOX_METRICS_TOKEN needs at least 32"):
        Settings.from_env({**PRODUCTION, "AGILETOOLBOX_METRICS_TOKEN": "short"})


def test_the_event_loop_is_uvloop_unless_asked_otherwise() -> None:
    assert Settings.from_env({}).event_loop is EventLoop.UVLOOP  # installed with the app
    chosen = Settings.from_env({"AGILETOOLBOX_EVENT_LOOP": "asyncio"})
    assert chosen.event_loop is EventLoop.ASYNCIO
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({"AGILETOOLBOX_EVENT_LOOP": "trio"})
    assert refused.value.problems == ["AGILETOOLBOX_EVENT_LOOP must be one of uvloop, asyncio"]


def test_uvloop_is_refused_where_it_is_not_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({"AGILETOOLBOX_EVENT_LOOP": "uvloop"})
    assert refused.value.problems == [
        "AGILETOOLBOX_EVENT_LOOP is uvloop, which is not installed here"
    ]
