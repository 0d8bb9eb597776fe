-- Presence leases live as long as their process says it is alive: one row per tenant a
-- process holds sockets of, renewed every 30 s. Before, a process renewed every lease it
-- held, a thousand rows every 30 s at a thousand sockets, and the votes committing
-- meanwhile waited on that write. A lease's own `expires_at` stays for leases written
-- before this migration (a process of the earlier version, during a rolling upgrade);
-- new leases leave it null.

CREATE TABLE presence_processes (
    tenant_key text        NOT NULL REFERENCES tenants ON DELETE CASCADE,
    process_id text        NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_key, process_id)
);

CREATE INDEX presence_processes_process ON presence_processes (process_id);

ALTER TABLE presence_leases ALTER COLUMN expires_at DROP NOT NULL;
