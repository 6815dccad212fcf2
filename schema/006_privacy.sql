-- 006_privacy: the audit of privacy requests (internal/privacy,
-- docs/privacy.md). Column names are a contract: add columns, never rename
-- or drop them.
--
-- One row per request and state change; the row with the highest version
-- per request_id is current (read with FINAL or argMax). It never holds the
-- email: email_hash is HMAC-SHA256(privacy.hash_key, lower-cased email) in
-- hex. subject_hashes are the same HMAC of the email and of every Okta user
-- id the request resolved to: running riskpipe processes forget those users
-- from memory and, with privacy.suppress_deleted, drop their future events.
-- counts is a JSON object {"deleted":{table:n},"redacted":{table:n},
-- "found":{table:n}} of table names and numbers only. Monthly partitions of
-- started_at can be dropped for retention (retention.privacy_requests).
CREATE TABLE IF NOT EXISTS {db}.privacy_requests
(
    request_id     String,
    kind           String,
    email_hash     String,
    subject_hashes Array(String),
    requested_by   String,
    status         String,
    detail         String,
    counts         String,
    remaining      UInt64,
    started_at     DateTime,
    finished_at    DateTime,
    updated_at     DateTime,
    version        UInt64
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(started_at)
ORDER BY request_id
SETTINGS old_parts_lifetime = 1;
