-- Where each tenant stands in Atlassian's personal-data reporting cycle, so a restart
-- resumes a cut-short cycle after the last account it reported. Hangs off the tenant.

CREATE TABLE report_cycles (
    tenant_key          text        PRIMARY KEY REFERENCES tenants ON DELETE CASCADE,
    last_completed_at   timestamptz,
    cycle_period_days   integer,
    cursor_account_id   text
);
