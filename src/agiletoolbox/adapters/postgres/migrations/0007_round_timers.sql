-- The open round's timer, kept by the server so that everyone counts down to the same
-- deadline: which round it times, when it started and when it ends (all null: none).

ALTER TABLE rooms
    ADD COLUMN timer_round      integer,
    ADD COLUMN timer_started_at timestamptz,
    ADD COLUMN timer_ends_at    timestamptz;
