-- 001_core: the tables riskpipe writes. Column names are a contract for
-- dashboards and downstream jobs: add columns, never rename or drop them.

-- One row per kept System Log event. ReplacingMergeTree(version) keyed by
-- (tenant, event_id): a replayed page (at-least-once polling) collapses to
-- one row, the latest write winning; readers use FINAL (or argMax / LIMIT 1
-- BY) to see each event once before background merges happen.
--
-- Dedup only happens inside one partition, so the partition of an event
-- must not change on replay. `published` comes from the event itself and is
-- the same on every replay, except when Okta's value cannot be parsed: then
-- it is the ingestion time (published_note says why), which differs between
-- replays and could cross a month boundary. Such events therefore go to
-- partition 0 instead of a month. Monthly partitions (YYYYMM) can be
-- dropped for retention (ALTER TABLE ... DROP PARTITION 202401), as TTL is
-- not available on ClickHouse 18.16.
CREATE TABLE IF NOT EXISTS {db}.risk_events
(
    tenant                  String,
    event_id                String,
    published               DateTime,
    published_ms            UInt64,
    event_type              String,
    legacy_event_type       String,
    category                String,
    severity                String,
    display_message         String,
    risk_level              String,
    risk_reasons            String,
    risk_detection          String,
    previous_risk_level     String,
    user_id                 String,
    user_login              String,
    actor_id                String,
    actor_type              String,
    actor_login             String,
    target_user_id          String,
    target_user_login       String,
    client_ip               String,
    country                 String,
    outcome                 String,
    outcome_reason          String,
    threat_suspected        UInt8,
    threat_detection_names  Array(String),
    threat_detection_levels Array(String),
    transaction_id          String,
    session_id              String,
    published_note          String,
    id_derived              UInt8,
    raw                     String,
    ingested_at             DateTime,
    version                 UInt64
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY if(published_note = '', toYYYYMM(published), 0)
ORDER BY (tenant, event_id)
SETTINGS old_parts_lifetime = 1;

-- The poller's cursor per tenant; the row with the highest version wins
-- (read with argMax(..., version) or FINAL). integrated_at_ms keeps the
-- exact millisecond that DateTime cannot hold.
CREATE TABLE IF NOT EXISTS {db}.poll_state
(
    tenant           String,
    integrated_at    DateTime,
    integrated_at_ms UInt64,
    cursor           String,
    updated_at       DateTime,
    version          UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY tenant
SETTINGS old_parts_lifetime = 1;

-- Events that could not be decoded, kept verbatim. Keyed by the payload's
-- sha256 so a replayed page does not duplicate them; unpartitioned because
-- received_at differs between replays.
CREATE TABLE IF NOT EXISTS {db}.dead_letters
(
    tenant      String,
    received_at DateTime,
    reason      String,
    payload     String,
    fingerprint String
)
ENGINE = ReplacingMergeTree
ORDER BY (tenant, fingerprint)
SETTINGS old_parts_lifetime = 1;

-- Every polled event counted per day and type, kept or dropped (and why).
-- Read with sum(events) ... GROUP BY: rows are summed at merge time.
CREATE TABLE IF NOT EXISTS {db}.event_type_counts
(
    tenant     String,
    day        Date,
    event_type String,
    kept       UInt8,
    reason     String,
    events     UInt64
)
ENGINE = SummingMergeTree(events)
PARTITION BY toYYYYMM(day)
ORDER BY (tenant, day, event_type, kept, reason)
SETTINGS old_parts_lifetime = 1;
