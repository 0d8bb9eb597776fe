-- A room's progress (revealed, a new round, an estimate written) moves the state of the
-- session issues that hold it: find them by room, within the tenant.
CREATE INDEX session_issues_room ON session_issues (tenant_key, room_id) WHERE room_id IS NOT NULL;
