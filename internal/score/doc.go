// Package score turns a tenant's kept risk events into per-user attack
// factors: how much each user is attacked (score 0-100), how that ranks in
// the org (percentile 0-100) and a level band. docs/attack-factor.md
// explains the formula, its defaults and how to read it; in short:
//
//   - Every kept event attributed to a user is a signal with a weight from
//     its category (and level or type): see DefaultWeights. A high_risk
//     event of a new user, or whose only reasons are "New Device", "New
//     IP", "New Geo-Location", is damped to high_risk:first_sign_in. The
//     newest user_risk event with a level sets the user's ITP level (a
//     state: a later LOW clears it).
//   - At time T a signal published at p is worth v = weight·2^(−(T−p)/HalfLife).
//     Signals sharing a transaction.id are one element worth their
//     strongest; the ITP level is one element.
//   - x = Σ_k RepeatFactor^k·v_k over the elements sorted strongest first
//     (repeats add up with diminishing returns), score = 100·(1 − e^(−x/Scale)).
//   - percentile = 100 · (users of the population with a strictly lower
//     score) / (population), the population being every user seen in the
//     org's System Log within PopulationWindow (plus any user with a score).
//
// The score at T is a function of the set of signals (deduplicated by event
// id) published at or before T, evaluated at T: pages may arrive in any
// order and split in any way, and replays count once.
//
// The package is pure Go: the poller feeds an Engine per tenant and writes
// its Output through the store in the same batch as the events.
package score
