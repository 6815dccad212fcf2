-- 007_privacy_subjects: an index of the people each risk event names, so
-- that a privacy request (internal/privacy, docs/privacy.md) reads the
-- person's events by key instead of scanning every event's raw JSON.
-- Column names are a contract: add columns, never rename or drop them.
--
-- One row per (identifier, event): identifier is lower-cased and is the
-- event's user_login, user_id, actor_login, actor_id, target_user_login,
-- target_user_id, and every email-shaped string and Okta user id (00u...)
-- found anywhere in raw. The materialized view fills it from every INSERT
-- into risk_events (the poller's writer, a redaction, a bench or test
-- fixture): a row is written by the same INSERT as its event, so it is as
-- durable as the event and the poller's cursor advances only after both.
-- Monthly partitions of published, like risk_events, are dropped with
-- them by retention (retention.risk_events). It holds personal data: the
-- privacy deletion deletes the person's rows here too.
CREATE TABLE IF NOT EXISTS {db}.risk_event_subjects
(
    identifier String,
    tenant     String,
    event_id   String,
    published  DateTime
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(published)
ORDER BY (identifier, tenant, event_id)
SETTINGS old_parts_lifetime = 1;

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.risk_event_subjects_mv TO {db}.risk_event_subjects
(
    identifier String,
    tenant     String,
    event_id   String,
    published  DateTime
)
AS SELECT identifier, tenant, event_id, published
FROM {db}.risk_events
ARRAY JOIN arrayFilter(x -> x != '', arrayDistinct(arrayMap(x -> lowerUTF8(x), arrayConcat(
    [user_login, user_id, actor_login, actor_id, target_user_login, target_user_id],
    extractAll(raw, '[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+|00u[A-Za-z0-9]+'))))) AS identifier;

-- The events stored before this migration (a one-off backfill; rows the
-- view wrote meanwhile are the same rows and collapse at merges).
INSERT INTO {db}.risk_event_subjects (identifier, tenant, event_id, published)
SELECT identifier, tenant, event_id, published
FROM {db}.risk_events
ARRAY JOIN arrayFilter(x -> x != '', arrayDistinct(arrayMap(x -> lowerUTF8(x), arrayConcat(
    [user_login, user_id, actor_login, actor_id, target_user_login, target_user_id],
    extractAll(raw, '[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+|00u[A-Za-z0-9]+'))))) AS identifier;
