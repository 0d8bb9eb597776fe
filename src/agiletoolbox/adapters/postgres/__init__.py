"""PostgreSQL storage: repositories and unit of work, migrations, the LISTEN/NOTIFY room
event bus, secrets encrypted at rest, and the embedded server for development.

The pieces a composition root wires: `database_resource(settings)` (URL or embedded
server, migrations, keys and pool, as one lifecycle resource) whose
`PostgresDatabase.unit_of_work` is the `UnitOfWorkFactory`, and
`event_bus_resource(database.url)` (the room event bus). The smaller pieces
(`pool_resource`, `key_ring`, `database_url`, `migrate`) are there for tools and tests.
"""

from agiletoolbox.adapters.postgres.database import (
    PostgresDatabase,
    PostgresUnitOfWork,
    close_pool,
    connect,
    create_pool,
    open_pool,
    pool_resource,
)
from agiletoolbox.adapters.postgres.embedded import (
    EmbeddedPostgres,
    EmbeddedUnavailable,
    database_url,
    embedded_resource,
)
from agiletoolbox.adapters.postgres.encryption import KeyRing, SecretKeyError, key_ring
from agiletoolbox.adapters.postgres.errors import (
    SchemaError,
    SchemaTooNew,
    SchemaTooOld,
    StorageUnavailable,
)
from agiletoolbox.adapters.postgres.lifecycle import database_resource, open_database
from agiletoolbox.adapters.postgres.listener import PostgresEventBus, event_bus_resource
from agiletoolbox.adapters.postgres.rotation import rotate_secrets
from agiletoolbox.adapters.postgres.schema import latest_version, migrate, require_current

__all__ = [
    "EmbeddedPostgres",
    "EmbeddedUnavailable",
    "KeyRing",
    "PostgresDatabase",
    "PostgresEventBus",
    "PostgresUnitOfWork",
    "SchemaError",
    "SchemaTooNew",
    "SchemaTooOld",
    "SecretKeyError",
    "StorageUnavailable",
    "close_pool",
    "connect",
    "create_pool",
    "database_resource",
    "database_url",
    "embedded_resource",
    "event_bus_resource",
    "key_ring",
    "latest_version",
    "migrate",
    "open_database",
    "open_pool",
    "pool_resource",
    "require_current",
    "rotate_secrets",
]
