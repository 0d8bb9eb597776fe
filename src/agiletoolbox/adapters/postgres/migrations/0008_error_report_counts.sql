-- Equal error reports are counted, not stored again: a report's fingerprint (a digest of
-- its site, code, message and stack), how many times it happened and when it last did.
-- Reports stored before this migration count once and match nothing (empty fingerprint).

ALTER TABLE error_reports
    ADD COLUMN fingerprint text        NOT NULL DEFAULT '',
    ADD COLUMN count       integer     NOT NULL DEFAULT 1 CHECK (count >= 1),
    ADD COLUMN last_at     timestamptz;

CREATE INDEX error_reports_fingerprint ON error_reports (tenant_key, fingerprint, at);
