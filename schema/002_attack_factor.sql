-- 002_attack_factor: per-user attack factors (internal/score; the formula and
-- how to read it are in docs/attack-factor.md) and the org population they
-- are relative to. Column names are a contract for dashboards and
-- downstream jobs: add columns, never rename or drop them.
--
-- The rows come from score.Output and are written in the same batch as the
-- events that caused them. `version` is the writer's flush version (as in
-- risk_events): it grows with every write, so for one key the newest row
-- wins. Every table is a ReplacingMergeTree, so a batch written twice (a
-- flush retried after a partial failure) is read once with FINAL (or
-- argMax / LIMIT 1 BY); the engine itself never counts a replayed event
-- twice.

-- The change feed: one row per change of a user's attack factor, written
-- when a page changes the user's values (cause_event_id, cause_category:
-- the page's event that moved the user most) and by the periodic refresh
-- when the decayed score or the percentile moved materially
-- (cause_event_id '', cause_category 'refresh'). Append-only in meaning;
-- the ReplacingMergeTree key only collapses identical rows of a retried
-- flush. Monthly partitions can be dropped for retention.
CREATE TABLE IF NOT EXISTS {db}.attack_factor_updates
(
    tenant         String,
    user_id        String,
    user_login     String,
    updated_at     DateTime,
    score          Float64,
    percentile     Float64,
    level          String,
    signals        UInt32,
    cause_event_id String,
    cause_category String,
    explanation    String,
    version        UInt64
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(updated_at)
ORDER BY (tenant, user_id, updated_at, cause_event_id)
SETTINGS old_parts_lifetime = 1;

-- The same rows, one per (tenant, user_id) once merged: read with FINAL.
-- Unpartitioned, so that a user's rows of different months collapse too.
--   SELECT user_login, score, percentile, level, signals, explanation
--   FROM attack_factor_latest FINAL WHERE tenant = 'X'
--   ORDER BY score DESC, user_id LIMIT 20
CREATE TABLE IF NOT EXISTS {db}.attack_factor_latest
(
    tenant         String,
    user_id        String,
    user_login     String,
    updated_at     DateTime,
    score          Float64,
    percentile     Float64,
    level          String,
    signals        UInt32,
    cause_event_id String,
    cause_category String,
    explanation    String,
    version        UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (tenant, user_id)
SETTINGS old_parts_lifetime = 1;

-- Kept risk events per tenant, time bucket (bucket: its start, `published`
-- truncated, hourly by default) and category: signals (events, deduplicated
-- by event_id), users (distinct users they are attributed to), unattributed
-- (events of no user: ThreatInsight against the org). Rows hold absolute
-- counts, not deltas, so a replayed page or a retried flush rewrites the
-- same or a newer value instead of adding it twice (which is why this is a
-- ReplacingMergeTree, not a SummingMergeTree): read with FINAL. A bucket
-- is final once older than the activity window (48 h by default).
CREATE TABLE IF NOT EXISTS {db}.org_attack_activity
(
    tenant       String,
    bucket       DateTime,
    category     String,
    signals      UInt64,
    users        UInt64,
    unattributed UInt64,
    updated_at   DateTime,
    version      UInt64
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(bucket)
ORDER BY (tenant, bucket, category)
SETTINGS old_parts_lifetime = 1;

-- The org's population: every user seen (actor or target of any event,
-- kept or dropped) since the integration. first_seen only decreases and
-- last_seen only grows (rewritten when it moved by a day or more), so
-- min(first_seen) / max(last_seen) ... GROUP BY are exact before merges.
-- Loaded on restart (score.Engine.Restore).
CREATE TABLE IF NOT EXISTS {db}.org_users
(
    tenant     String,
    user_id    String,
    user_login String,
    first_seen DateTime,
    last_seen  DateTime,
    version    UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (tenant, user_id)
SETTINGS old_parts_lifetime = 1;
