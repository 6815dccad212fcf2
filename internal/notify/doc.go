// Package notify tells each org's security contacts about findings: a
// ThreatInsight attack on the org, users reaching a critical attack factor,
// critical incidents, a failing integration, changed contacts and contacts
// not reviewed for long (docs/notifications.md has the table of who is told
// what, and why).
//
// The data flow is
//
//	store write confirmed -> Notifier.Offer (bounded queue, never blocks)
//	  -> Detector (findings, each with a dedup key) -> grouping
//	  -> notifications rows (pending) -> delivery (email, webhooks)
//	  -> notifications rows (sent | failed | folded)
//
// Every message is written to the notifications table before it is sent
// and again after, so a crash never loses one. A finding whose dedup key is
// already in the table is never sent again: replays, restarts and
// duplicated Okta events send nothing twice. At start the Notifier replays
// the recent durable rows (attack_factor_updates, risk_events) through the
// same Detector, so a finding whose batch was written just before a crash
// is still notified, exactly once.
package notify
