-- 005_response: the audit trail of response actions (internal/respond,
-- docs/response.md). One row per step of an action: every change of state
-- (needs_identity, proposed, approved, executing, succeeded, failed,
-- rejected, expired, reverted) and every change within a state (more
-- evidence, verification, a flag) writes the whole action again with a
-- higher version. The key holds the version, so no step is ever merged
-- away; a row written twice (an insert retried) collapses into one. The
-- current state of an action is its row with the highest version:
--   SELECT * FROM response_actions
--   WHERE (tenant, action_id, version) IN
--     (SELECT tenant, action_id, max(version) FROM response_actions GROUP BY tenant, action_id)
-- Column names are a contract: add columns, never rename or drop them.
-- Times are DateTime (UTC seconds); 1970-01-01 00:00:00 (0) means "not yet".
CREATE TABLE IF NOT EXISTS {db}.response_actions
(
    tenant           String,
    action_id        String,
    action           String,
    user_id          String,
    user_login       String,
    identity         String,
    group_id         String,
    state            String,
    proposed_by      String,
    proposed_at      DateTime,
    reason           String,
    evidence         String,
    candidates       String,
    decided_by       String,
    decided_at       DateTime,
    expires_at       DateTime,
    executed_at      DateTime,
    attempts         UInt32,
    okta_status      UInt16,
    okta_request_id  String,
    error            String,
    note             String,
    no_change        UInt8,
    dry_run          UInt8,
    verified_at      DateTime,
    verify_event_id  String,
    flagged          UInt8,
    reverted_at      DateTime,
    reverted_by      String,
    updated_at       DateTime,
    version          UInt64
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(proposed_at)
ORDER BY (tenant, action_id, version)
SETTINGS old_parts_lifetime = 1;
