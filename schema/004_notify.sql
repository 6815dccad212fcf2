-- 004_notify: notifications to the orgs' security contacts (internal/notify,
-- docs/notifications.md). Column names are a contract: add columns, never
-- rename or drop them.
--
-- notifications: one row per message and recipient, written (status
-- 'pending') before the message is sent and again after each attempt
-- ('sent', 'failed' once retries are exhausted, 'folded' when
-- notify.max_per_hour folded it into a digest). The row with the highest
-- version per (tenant, notification_id, recipient) is current: read with
-- FINAL or argMax(column, version). dedup_key names the finding (one
-- logical notification per finding): a finding whose key is already here
-- is never sent again. body is the rendered message (JSON: subject, text,
-- html, users), kept so a pending message survives a restart.
-- Times are DateTime (UTC seconds); 0 means "never".
CREATE TABLE IF NOT EXISTS {db}.notifications
(
    tenant          String,
    notification_id String,
    kind            String,
    recipient       String,
    channel         String,
    subject         String,
    status          String,
    attempts        UInt32,
    last_error      String,
    created_at      DateTime,
    sent_at         DateTime,
    next_attempt_at DateTime,
    dedup_key       String,
    body            String,
    version         UInt64
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(created_at)
ORDER BY (tenant, notification_id, recipient)
SETTINGS old_parts_lifetime = 1;

-- org_contacts: the contacts last applied per tenant (contacts: canonical
-- JSON of config.Contacts) and when a person last reviewed them. The row
-- with the highest version per tenant is current.
CREATE TABLE IF NOT EXISTS {db}.org_contacts
(
    tenant      String,
    contacts    String,
    applied_at  DateTime,
    reviewed_at DateTime,
    reviewed_by String,
    version     UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY tenant
SETTINGS old_parts_lifetime = 1;
