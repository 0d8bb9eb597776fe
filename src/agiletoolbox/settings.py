"""The deployment's settings, read once from the environment and checked.

Every variable of the settings table in DESIGN.md is a field here. `Settings.from_env`
parses and validates them all and reports every problem at once; production refuses
unsafe settings (no secret key, no database, a plain-http base URL). Secrets never appear
in a repr or in `redacted()`.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from enum import Enum
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

from attrs import field, fields, frozen

from agiletoolbox.domain.tenant import Region

PREFIX = "AGILETOOLBOX_"
HIDDEN = "***"
MAX_RETENTION_DAYS = 3650


class Environment(Enum):
    """Which kind of deployment this is; production refuses unsafe settings."""

    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class EventLoop(Enum):
    """The event loop a process runs on: uvloop (libuv, in C), where it is installed, or
    the standard library's (see docs/scaling.md for what each costs a vote)."""

    UVLOOP = "uvloop"
    ASYNCIO = "asyncio"


def installed_loop() -> EventLoop:
    """uvloop when it is installed (everywhere but Windows), else asyncio's own."""
    return EventLoop.UVLOOP if importlib.util.find_spec("uvloop") else EventLoop.ASYNCIO


DEFAULT_LOOP = installed_loop()

C = TypeVar("C", bound=Enum)


class SettingsError(ValueError):
    """One or more settings are missing or invalid; the message lists each one."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid settings:\n" + "\n".join(f"  - {p}" for p in problems))
        self.problems = problems


@frozen
class Settings:
    """Everything a deployment is configured with (see DESIGN.md, "Settings")."""

    env: Environment = Environment.DEVELOPMENT
    host: str = "127.0.0.1"
    port: int = 8080
    base_url: str = "http://127.0.0.1:8080"
    app_key: str = "agile-toolbox"
    region: Region = Region.US
    region_base_urls: tuple[tuple[Region, str], ...] = ()
    database_url: str | None = field(default=None, repr=False)
    data_dir: Path = Path(".agiletoolbox")
    secret_key: str | None = field(default=None, repr=False)
    install_keys_url: str = "https://connect-install-keys.atlassian.com"
    forge_app_id: str | None = None
    forge_jwks_url: str = "https://forge.cdn.prod.atlassian-dev.net/.well-known/jwks.json"
    region_peer_key: str | None = field(default=None, repr=False)
    metrics_token: str | None = field(default=None, repr=False)
    personal_data_url: str = "https://api.atlassian.com/app/report-accounts/"
    retention_uninstalled_days: int = 30
    retention_idle_room_days: int = 90
    retention_error_report_days: int = 30
    limit_sockets_per_person: int = 8
    limit_sockets_per_process: int = 20_000
    limit_commands_per_second: int = 10
    limit_requests_per_minute_person: int = 600
    limit_requests_per_minute_site: int = 12_000
    limit_rooms_per_site: int = 100_000
    limit_defaults_per_site: int = 20_000
    deadline_check_seconds: int = 30
    """How often a process looks for async sessions whose deadline came."""
    event_loop: EventLoop = DEFAULT_LOOP

    @property
    def production(self) -> bool:
        """Whether this is a production deployment."""
        return self.env is Environment.PRODUCTION

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """The settings in `environ` (unset or empty variables take their defaults)."""
        reader = _Reader(environ)
        env = reader.choice("ENV", Environment, Environment.DEVELOPMENT)
        production = env is Environment.PRODUCTION
        settings = cls(
            env=env,
            host=reader.text("HOST", "127.0.0.1"),
            port=reader.integer("PORT", 8080, 1, 65535),
            base_url=reader.url("BASE_URL", "http://127.0.0.1:8080", https=production),
            app_key=reader.text("APP_KEY", "agile-toolbox"),
            region=reader.region("REGION", Region.US),
            region_base_urls=reader.region_urls("REGION_BASE_URLS", https=production),
            database_url=reader.database_url("DATABASE_URL"),
            data_dir=Path(reader.text("DATA_DIR", ".agiletoolbox")),
            secret_key=reader.optional("SECRET_KEY"),
            install_keys_url=reader.url(
                "INSTALL_KEYS_URL", "https://connect-install-keys.atlassian.com", https=production
            ),
            forge_app_id=reader.forge_app_id("FORGE_APP_ID"),
            forge_jwks_url=reader.url(
                "FORGE_JWKS_URL",
                "https://forge.cdn.prod.atlassian-dev.net/.well-known/jwks.json",
                https=production,
            ),
            region_peer_key=reader.optional("REGION_PEER_KEY"),
            metrics_token=reader.optional("METRICS_TOKEN"),
            personal_data_url=reader.url(
                "PERSONAL_DATA_URL",
                "https://api.atlassian.com/app/report-accounts/",
                https=production,
            ),
            retention_uninstalled_days=reader.days("RETENTION_UNINSTALLED_DAYS", 30),
            retention_idle_room_days=reader.days("RETENTION_IDLE_ROOM_DAYS", 90),
            retention_error_report_days=reader.days("RETENTION_ERROR_REPORT_DAYS", 30),
            limit_sockets_per_person=reader.integer("LIMIT_SOCKETS_PER_PERSON", 8, 1, 1_000),
            limit_sockets_per_process=reader.integer(
                "LIMIT_SOCKETS_PER_PROCESS", 20_000, 1, 1_000_000
            ),
            limit_commands_per_second=reader.integer("LIMIT_COMMANDS_PER_SECOND", 10, 1, 1_000),
            limit_requests_per_minute_person=reader.integer(
                "LIMIT_REQUESTS_PER_MINUTE_PERSON", 600, 10, 1_000_000
            ),
            limit_requests_per_minute_site=reader.integer(
                "LIMIT_REQUESTS_PER_MINUTE_SITE", 12_000, 10, 10_000_000
            ),
            limit_rooms_per_site=reader.integer("LIMIT_ROOMS_PER_SITE", 100_000, 1, 10_000_000),
            limit_defaults_per_site=reader.integer(
                "LIMIT_DEFAULTS_PER_SITE", 20_000, 1, 10_000_000
            ),
            deadline_check_seconds=reader.integer("DEADLINE_CHECK_SECONDS", 30, 1, 3_600),
            event_loop=reader.choice("EVENT_LOOP", EventLoop, DEFAULT_LOOP),
        )
        if settings.event_loop is EventLoop.UVLOOP and installed_loop() is not EventLoop.UVLOOP:
            reader.problem(f"{PREFIX}EVENT_LOOP is uvloop, which is not installed here")
        if production:
            if not settings.secret_key:
                reader.problem(
                    "AGILETOOLBOX_SECRET_KEY is required in production (base64 of 32 random bytes)"
                )
            if not settings.database_url:
                reader.problem(
                    "AGILETOOLBOX_DATABASE_URL is required in production "
                    "(the embedded database is for development and tests)"
                )
            if settings.region_peer_key is not None and len(settings.region_peer_key) < 32:
                reader.problem("AGILETOOLBOX_REGION_PEER_KEY needs at least 32 characters")
            if settings.metrics_token is not None and len(settings.metrics_token) < 32:
                reader.problem("AGILETOOLBOX_METRICS_TOKEN needs at least 32 characters")
        if reader.problems:
            raise SettingsError(reader.problems)
        return settings

    def redacted(self) -> dict[str, str]:
        """Every setting as text, safe to log: secrets hidden, database password removed."""
        shown: dict[str, str] = {}
        for attribute in fields(Settings):
            value: Any = getattr(self, attribute.name)
            name = PREFIX + attribute.name.upper()
            if attribute.name in ("secret_key", "region_peer_key", "metrics_token"):
                shown[name] = "unset" if value is None else HIDDEN
            elif attribute.name == "database_url":
                shown[name] = "unset (embedded)" if value is None else redact_url(value)
            elif attribute.name == "region_base_urls":
                shown[name] = ",".join(f"{region.value}={url}" for region, url in value)
            elif isinstance(value, Enum):
                shown[name] = str(value.value)
            else:
                shown[name] = "unset" if value is None else str(value)
        return shown


def redact_url(url: str) -> str:
    """The URL without its password (and without a `password=` query parameter)."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if parts.password is not None:
        user = parts.username or ""
        host = netloc.rpartition("@")[2]
        netloc = f"{user}:{HIDDEN}@{host}"
    query = "&".join(
        f"password={HIDDEN}" if item.lower().startswith("password=") else item
        for item in parts.query.split("&")
        if item
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


class _Reader:
    """Reads `AGILETOOLBOX_*` variables, collecting problems instead of stopping at one."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ
        self.problems: list[str] = []

    def problem(self, text: str) -> None:
        self.problems.append(text)

    def optional(self, name: str) -> str | None:
        value = self._environ.get(PREFIX + name, "").strip()
        return value or None

    def text(self, name: str, default: str) -> str:
        return self.optional(name) or default

    def integer(self, name: str, default: int, low: int, high: int) -> int:
        raw = self.optional(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            value = low - 1
        if not low <= value <= high:
            self.problem(f"{PREFIX}{name} must be a whole number from {low} to {high}")
            return default
        return value

    def days(self, name: str, default: int) -> int:
        return self.integer(name, default, 1, MAX_RETENTION_DAYS)

    def choice(self, name: str, kind: type[C], default: C) -> C:
        raw = self.optional(name)
        if raw is None:
            return default
        for member in kind:
            if member.value == raw.lower():
                return member
        allowed = ", ".join(member.value for member in kind)
        self.problem(f"{PREFIX}{name} must be one of {allowed}")
        return default

    def region(self, name: str, default: Region) -> Region:
        raw = self.optional(name)
        if raw is None:
            return default
        return self._region(raw, f"{PREFIX}{name}") or default

    def _region(self, raw: str, where: str) -> Region | None:
        for member in Region:
            if member.value == raw.strip().upper():
                return member
        self.problem(f"{where} must be US or EU")
        return None

    def url(self, name: str, default: str, *, https: bool) -> str:
        raw = self.optional(name) or default
        return self._check_url(raw, f"{PREFIX}{name}", https=https)

    def _check_url(self, raw: str, where: str, *, https: bool) -> str:
        parts = urlsplit(raw)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            self.problem(f"{where} must be an absolute http(s) URL")
        elif https and parts.scheme != "https":
            self.problem(f"{where} must use https in production")
        elif parts.username or parts.password:
            self.problem(f"{where} may not carry credentials")
        return raw.rstrip("/") if parts.path in ("", "/") else raw

    def region_urls(self, name: str, *, https: bool) -> tuple[tuple[Region, str], ...]:
        raw = self.optional(name)
        if raw is None:
            return ()
        pairs: dict[Region, str] = {}
        for item in (part.strip() for part in raw.split(",") if part.strip()):
            label, sep, url = item.partition("=")
            region = self._region(label, f"{PREFIX}{name}") if sep else None
            if not sep:
                self.problem(f"{PREFIX}{name} takes REGION=URL pairs separated by commas")
            if region is not None:
                pairs[region] = self._check_url(url.strip(), f"{PREFIX}{name}", https=https)
        return tuple(sorted(pairs.items(), key=lambda pair: pair[0].value))

    def database_url(self, name: str) -> str | None:
        raw = self.optional(name)
        if raw is not None and urlsplit(raw).scheme not in ("postgres", "postgresql"):
            self.problem(f"{PREFIX}{name} must be a postgresql:// URL")
        return raw

    def forge_app_id(self, name: str) -> str | None:
        raw = self.optional(name)
        if raw is not None and not raw.startswith("ari:cloud:ecosystem::app/"):
            self.problem(f"{PREFIX}{name} must look like ari:cloud:ecosystem::app/<uuid>")
        return raw
