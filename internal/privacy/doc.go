// Package privacy answers data-subject requests by email address: access
// (every row about the person) and deletion (their rows removed, their
// mentions in other rows redacted, proven by a scan of every String column
// of every table), and enforces retention per table.
//
// Tables declare in a Registry how a person is found in them (Table): the
// columns holding a login (compared case-insensitively with the email) and
// the columns holding an Okta user id, the key that deletes a row, and
// whether a row that only mentions the person can be redacted by writing a
// newer version of it. Tables without an entry are still searched by the
// generic scan, so access shows their rows and a deletion does not report
// done while they hold the person.
//
// No statement riskpipe sends holds the email, a login or a user id: the
// identifiers go into a per-request Memory table through an INSERT's data
// block, and statements refer to them by scalar subqueries and IN
// (SELECT ...) on it. docs/privacy.md says what remains where.
package privacy
