-- The app's Jira comment on a written estimate (rooms whose rule asks for one): where it
-- stands and when a process took it on, so that it is written once whatever retries and
-- however many processes.
ALTER TABLE rooms ADD COLUMN estimate_comment text
    CHECK (estimate_comment IN ('pending', 'written', 'failed'));
ALTER TABLE rooms ADD COLUMN estimate_comment_at timestamptz;
