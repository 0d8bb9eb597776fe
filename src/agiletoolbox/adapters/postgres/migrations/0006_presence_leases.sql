-- Presence across processes: a row while a process holds a live socket of a participant.
-- The process renews its rows; a process that dies leaves rows that run out, and another
-- process then marks those people offline. A row hangs off the participant, so leaving
-- the room, erasing the account and removing the room take it along.

CREATE TABLE presence_leases (
    tenant_key text        NOT NULL,
    room_id    text        NOT NULL,
    account_id text        NOT NULL,
    process_id text        NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_key, room_id, account_id, process_id),
    FOREIGN KEY (tenant_key, room_id, account_id) REFERENCES participants ON DELETE CASCADE
);

CREATE INDEX presence_leases_process ON presence_leases (process_id);
CREATE INDEX presence_leases_expires_at ON presence_leases (expires_at);
