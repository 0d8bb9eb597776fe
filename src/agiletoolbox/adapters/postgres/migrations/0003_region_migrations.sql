-- Region migration: moving a tenant's data to another region's deployment.
--
-- At the source, `tenants.moving_to` is set while the copy is made (nobody is served) and
-- `region_migrations` holds the migration Atlassian drives through the hooks. At the
-- target, the copy arrives with its tenant row still naming the source region and
-- `moving_to` set, so it is not served; `region_arrivals` records which migration
-- delivered it until the commit makes it the tenant, or the rollback deletes it.
-- Both tables hang off the tenant, so the purge and the move's final delete take them.

ALTER TABLE tenants ADD COLUMN moving_to text;

CREATE TABLE region_migrations (
    tenant_key   text        PRIMARY KEY REFERENCES tenants ON DELETE CASCADE,
    migration_id text        NOT NULL,
    source       text        NOT NULL,
    target       text        NOT NULL,
    start_time   timestamptz NOT NULL,
    end_time     timestamptz NOT NULL,
    state        text        NOT NULL,
    error_code   text,
    scheduled_at timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    version      bigint      NOT NULL
);

CREATE TABLE region_arrivals (
    tenant_key   text        PRIMARY KEY REFERENCES tenants ON DELETE CASCADE,
    migration_id text        NOT NULL,
    source       text        NOT NULL,
    digest       text        NOT NULL,
    staged_at    timestamptz NOT NULL
);
