-- Agile Toolbox: the initial schema.
--
-- Every table's key starts with tenant_key, so a tenant's rows are found, moved and purged
-- together, and every table can be distributed by tenant on Citus:
--   SELECT create_distributed_table('tenants', 'tenant_key');
--   SELECT create_distributed_table(t, 'tenant_key', colocate_with => 'tenants')
--     for t in rooms, participants, votes, rounds, round_votes, room_defaults, error_reports.
-- Unique constraints therefore always include tenant_key (Citus requires it).
--
-- A room's rows hang off the room (ON DELETE CASCADE), and the room off its tenant, so
-- "remove room" and "purge tenant" are each one DELETE.

CREATE TABLE tenants (
    tenant_key      text        PRIMARY KEY,
    base_url        text        NOT NULL,
    -- AES-GCM ciphertext (see adapters/postgres/encryption.py); never the plain secret.
    shared_secret   text        NOT NULL,
    product_type    text        NOT NULL,
    region          text        NOT NULL,
    state           text        NOT NULL,
    installation_id text,
    cloud_id        text,
    installed_at    timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    uninstalled_at  timestamptz,
    version         bigint      NOT NULL
);

-- Not unique: on Citus a unique index must contain the distribution column.
CREATE INDEX tenants_installation_id ON tenants (installation_id)
    WHERE installation_id IS NOT NULL;
CREATE INDEX tenants_uninstalled_at ON tenants (uninstalled_at)
    WHERE uninstalled_at IS NOT NULL;

CREATE TABLE rooms (
    tenant_key           text        NOT NULL REFERENCES tenants ON DELETE CASCADE,
    room_id              text        NOT NULL,
    issue_key            text        NOT NULL,
    owner                text,
    -- deck, field id and rules, as the rows converter writes them.
    config               jsonb       NOT NULL,
    persistent           boolean     GENERATED ALWAYS AS ((config ->> 'persistent')::boolean) STORED,
    round                integer     NOT NULL,
    round_started_at     timestamptz,
    revealed             boolean     NOT NULL,
    estimate_label       text,
    estimate_number      double precision,
    estimate_field_id    text,
    estimate_round       integer,
    estimate_accepted_by text,
    estimate_accepted_at timestamptz,
    estimate_written     boolean,
    version              bigint      NOT NULL,
    created_at           timestamptz NOT NULL,
    updated_at           timestamptz NOT NULL,
    PRIMARY KEY (tenant_key, room_id),
    CONSTRAINT rooms_one_per_issue UNIQUE (tenant_key, issue_key)
) WITH (fillfactor = 80);
-- Every change of a room rewrites version and updated_at. Neither is indexed, and pages
-- keep free space (fillfactor), so those updates stay HOT (no index maintenance). The
-- idle-room purge runs rarely and scans the table instead of keeping an index hot.
CREATE INDEX rooms_owner ON rooms (owner);
CREATE INDEX rooms_estimate_accepted_by ON rooms (estimate_accepted_by)
    WHERE estimate_accepted_by IS NOT NULL;

CREATE TABLE participants (
    tenant_key text        NOT NULL,
    room_id    text        NOT NULL,
    account_id text        NOT NULL,
    role       text        NOT NULL,
    online     boolean     NOT NULL,
    joined_at  timestamptz NOT NULL,
    PRIMARY KEY (tenant_key, room_id, account_id),
    FOREIGN KEY (tenant_key, room_id) REFERENCES rooms ON DELETE CASCADE
);

CREATE INDEX participants_account ON participants (account_id);

-- The open round's votes. A vote may outlive its voter's membership (a revealed round
-- keeps the cards of those who left), so it hangs off the room, not the participant.
CREATE TABLE votes (
    tenant_key text NOT NULL,
    room_id    text NOT NULL,
    account_id text NOT NULL,
    label      text NOT NULL,
    PRIMARY KEY (tenant_key, room_id, account_id),
    FOREIGN KEY (tenant_key, room_id) REFERENCES rooms ON DELETE CASCADE
);

CREATE INDEX votes_account ON votes (account_id);

-- Finished rounds: the room's history, kept for the room's life.
CREATE TABLE rounds (
    tenant_key      text             NOT NULL,
    room_id         text             NOT NULL,
    number          integer          NOT NULL,
    deck            jsonb            NOT NULL,
    revealed        boolean          NOT NULL,
    started_at      timestamptz      NOT NULL,
    ended_at        timestamptz      NOT NULL,
    estimate_label  text,
    estimate_number double precision,
    PRIMARY KEY (tenant_key, room_id, number),
    FOREIGN KEY (tenant_key, room_id) REFERENCES rooms ON DELETE CASCADE
);

CREATE TABLE round_votes (
    tenant_key text     NOT NULL,
    room_id    text     NOT NULL,
    number     integer  NOT NULL,
    account_id text     NOT NULL,
    label      text     NOT NULL,
    -- the vote's place in the round's record, so it reads back exactly as it was written.
    position   smallint NOT NULL,
    PRIMARY KEY (tenant_key, room_id, number, account_id),
    FOREIGN KEY (tenant_key, room_id, number) REFERENCES rounds ON DELETE CASCADE
);

CREATE INDEX round_votes_account ON round_votes (account_id);

CREATE TABLE room_defaults (
    tenant_key    text        NOT NULL REFERENCES tenants ON DELETE CASCADE,
    account_id    text        NOT NULL,
    project_key   text        NOT NULL,
    issue_type_id text        NOT NULL,
    config        jsonb       NOT NULL,
    saved_at      timestamptz NOT NULL,
    PRIMARY KEY (tenant_key, account_id, project_key, issue_type_id)
);

CREATE INDEX room_defaults_account ON room_defaults (account_id);

-- Scrubbed error reports. tenant_key is '' for a report that names no tenant (no valid
-- tenant key is empty), so the key still starts with the tenant and stays non-null for
-- Citus. No foreign key: a report may name a tenant that has no row (a refused install,
-- another region's site) and storing a report must never fail for that. The tenant
-- purge deletes a tenant's reports in the same statement as the tenant.
CREATE TABLE error_reports (
    tenant_key text        NOT NULL DEFAULT '',
    report_id  text        NOT NULL,
    at         timestamptz NOT NULL,
    "where"    text        NOT NULL,
    message    text        NOT NULL,
    code       text        NOT NULL,
    PRIMARY KEY (tenant_key, report_id)
);

CREATE INDEX error_reports_at ON error_reports (at);
