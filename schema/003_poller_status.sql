-- 003_poller_status: each poller's health as `riskpipe run` sees it, so that
-- `riskpipe status`, dashboards and alert queries can read it from ClickHouse
-- without the HTTP server. `riskpipe run` writes one row per running poller
-- every 15 s (the heartbeat) and once more at shutdown (state 'stopped').
-- The row with the highest version per tenant is current: read with FINAL
-- or argMax(column, version). Column names are a contract: add columns,
-- never rename or drop them.
--
-- Times are DateTime (UTC seconds); 1970-01-01 00:00:00 (0) means "never".
-- started_at is when the writing process started: a tenant is stalled when
-- the latest of last_cursor_advance, integrated_at and started_at is older
-- than api.stall_after (the rule of /api/v1/orgs).
CREATE TABLE IF NOT EXISTS {db}.poller_status
(
    tenant               String,
    state                String,
    integrated_at        DateTime,
    last_poll            DateTime,
    last_success         DateTime,
    last_cursor_advance  DateTime,
    newest_published     DateTime,
    last_error           String,
    consecutive_failures UInt32,
    events_polled        UInt64,
    events_kept          UInt64,
    started_at           DateTime,
    updated_at           DateTime,
    version              UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY tenant
SETTINGS old_parts_lifetime = 1;
