-- Forge: the latest system token of each tenant's Forge installation, and finding a
-- tenant by its site's cloud id (which, unlike the installation id, survives a Forge
-- re-install).
--
-- The token is AES-GCM ciphertext bound to the tenant (see adapters/postgres/encryption.py),
-- never the token itself. Like error_reports the table has no foreign key: it is a cache
-- that Forge refills every hour, and the tenant purge deletes it in the tenant's own
-- statement.

CREATE TABLE forge_tokens (
    tenant_key      text        PRIMARY KEY,
    installation_id text        NOT NULL,
    api_base_url    text        NOT NULL,
    system_token    text        NOT NULL,
    expires_at      timestamptz NOT NULL
);

-- Not unique: on Citus a unique index must contain the distribution column.
CREATE INDEX tenants_cloud_id ON tenants (cloud_id) WHERE cloud_id IS NOT NULL;
