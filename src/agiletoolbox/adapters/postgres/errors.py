"""How PostgreSQL failures surface to the services.

Two kinds matter to a caller: "somebody else won a race, try again on fresh state" (the
domain's `ConcurrentChange`, which the services already retry) and "the database cannot be
reached right now" (`StorageUnavailable`, which the HTTP layer answers with 503). Everything
else is a bug and propagates as it is.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import asyncpg

from agiletoolbox.domain.errors import ConcurrentChange


class StorageUnavailable(ConnectionError):
    """The database could not be reached or dropped the connection; retry later.

    A `ConnectionError` so that an edge that knows nothing of PostgreSQL can still map it
    (to 503, to a CLI exit status) without importing this adapter.
    """


class SchemaError(RuntimeError):
    """The database schema does not fit this version of the app."""


class SchemaTooNew(SchemaError):
    """The database was migrated by a newer version of the app; this one refuses to run."""


class SchemaTooOld(SchemaError):
    """The database lacks migrations this app needs; run `agiletoolbox migrate`."""


# A server going away mid-call, a connection that closed under us, or none to be had.
UNAVAILABLE: tuple[type[BaseException], ...] = (
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    # The protocol caught mid-way by a server that hung up (a terminated backend).
    asyncpg.InternalClientError,
    asyncpg.AdminShutdownError,
    asyncpg.CannotConnectNowError,
    asyncpg.CrashShutdownError,
    asyncpg.TooManyConnectionsError,
    OSError,
    TimeoutError,
)
"""Errors that mean the connection or the server is gone, not that the SQL is wrong."""

# Lost races PostgreSQL reports itself; worth one more try on fresh state.
RETRYABLE: tuple[type[BaseException], ...] = (
    asyncpg.SerializationError,
    asyncpg.DeadlockDetectedError,
)
"""Errors that mean a lost race the services may retry on fresh state."""


@contextmanager
def storage_errors() -> Iterator[None]:
    """Translate driver errors into the two kinds the services understand."""
    try:
        yield
    except StorageUnavailable:
        raise
    except RETRYABLE as exc:
        raise ConcurrentChange("the room changed meanwhile") from exc
    except UNAVAILABLE as exc:
        raise StorageUnavailable("the database is not available") from exc
