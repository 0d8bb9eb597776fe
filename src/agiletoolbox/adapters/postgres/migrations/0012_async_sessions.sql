-- Async sessions: a deadline that moves one to review by itself, when its async phase
-- ended, and per issue how that phase ended (how many voted, how far they agreed: counts
-- only, never cards).
ALTER TABLE sessions ADD COLUMN deadline timestamptz;
ALTER TABLE sessions ADD COLUMN reviewed_at timestamptz;
ALTER TABLE session_issues ADD COLUMN review_votes integer CHECK (review_votes >= 0);
ALTER TABLE session_issues ADD COLUMN review_agreement double precision
    CHECK (review_agreement BETWEEN 0 AND 1);

-- The deadline job looks for async sessions still being estimated whose deadline came.
CREATE INDEX sessions_deadline ON sessions (deadline)
    WHERE mode = 'async' AND state = 'running' AND deadline IS NOT NULL;
