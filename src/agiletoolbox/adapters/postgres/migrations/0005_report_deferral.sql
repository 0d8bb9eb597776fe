-- Personal-data reporting: when Atlassian answers 429/503 with a Retry-After longer than
-- the app waits in one pass, the site's cycle records the earliest time to come back, so
-- the next passes (every process, after a restart too) leave it alone until then.

ALTER TABLE report_cycles ADD COLUMN not_before timestamptz;
