-- Refinement sessions: a project's queue of issue keys estimated in one sitting. No name,
-- no description, no query text: only keys, ids and settings (the browser runs the JQL).
-- Keyed by tenant first, like every table; a tenant's purge cascades to them.

CREATE TABLE sessions (
    tenant_key    text        NOT NULL REFERENCES tenants ON DELETE CASCADE,
    session_id    text        NOT NULL,
    project_key   text        NOT NULL,
    owner         text,
    mode          text        NOT NULL CHECK (mode IN ('live', 'async')),
    state         text        NOT NULL CHECK (state IN ('planning', 'running', 'finished')),
    -- deck, field id and rules, as a room's (the rows converter writes both).
    config        jsonb       NOT NULL,
    persistent    boolean     GENERATED ALWAYS AS ((config ->> 'persistent')::boolean) STORED,
    current_issue text,
    version       bigint      NOT NULL,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    PRIMARY KEY (tenant_key, session_id)
);
CREATE INDEX sessions_project ON sessions (tenant_key, project_key, created_at DESC);
CREATE INDEX sessions_owner ON sessions (owner) WHERE owner IS NOT NULL;

-- The queue, one row per issue in its order. room_id names the room the session opened
-- for the issue; it has no foreign key (a room removed on its own leaves the session's
-- entry pointing at nothing, read as no room), since PostgreSQL 14 cannot null one
-- column of a composite key on delete.
CREATE TABLE session_issues (
    tenant_key text    NOT NULL,
    session_id text    NOT NULL,
    position   integer NOT NULL CHECK (position >= 0),
    issue_key  text    NOT NULL,
    state      text    NOT NULL
        CHECK (state IN ('pending', 'voting', 'revealed', 'estimated', 'skipped')),
    room_id    text,
    -- Whether the session opened the room (removing the session removes it) or took
    -- over the room the issue had already (removing the session leaves it).
    opened_room boolean NOT NULL DEFAULT false,
    PRIMARY KEY (tenant_key, session_id, issue_key),
    FOREIGN KEY (tenant_key, session_id) REFERENCES sessions ON DELETE CASCADE
);
