// Package schema holds riskpipe's ClickHouse migrations, embedded in the
// binary and applied in order by store.Migrate.
//
// A migration is a file NNN_name.sql (NNN its version, 001 first) holding
// one or more statements, each ending with ';' at the end of a line. Lines
// starting with "--" are comments. {db} stands for the (quoted) database
// name. Statements must be idempotent (IF NOT EXISTS) and run on
// ClickHouse 18.16 as well as current versions: no TTL, DateTime64, Map,
// LowCardinality, JSON functions, window functions or table COMMENTs.
package schema

import "embed"

// FS holds the migrations.
//
//go:embed *.sql
var FS embed.FS
