package store

import (
	"context"
	"strings"
	"sync/atomic"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Reader runs riskpipe's read queries over the tables the writer fills:
// the one place the SQL of each table lives (risk_events.go,
// attack_factor.go, dead_letters.go, ...), with filters in and typed rows
// out. Readers (the API, the app's report, the CLI, bench) keep only their
// own shaping. A Reader holds no resources of its own: its connection is
// the caller's.
type Reader struct {
	conn driver.Conn
	db   string // quoted database name
	// fullReads counts the bounded event reads that fell back to a FINAL
	// read of the whole range (Events).
	fullReads atomic.Uint64
}

// NewReader reads database over conn. database must be an identifier.
func NewReader(conn driver.Conn, database string) *Reader {
	return &Reader{conn: conn, db: "`" + database + "`"}
}

// Reader reads the store's database over its pool.
func (s *Store) Reader() *Reader { return NewReader(s.conn, s.cfg.Database) }

// FullReads is how many Events calls fell back to the plain FINAL read.
func (r *Reader) FullReads() uint64 { return r.fullReads.Load() }

// table is the qualified, quoted name of a table.
func (r *Reader) table(name string) string { return r.db + "." + name }

// in returns "(?, ?, ...)" for the values and appends them to args:
// clickhouse-go binds a slice as an array literal, which IN (...) rejects,
// and has(array, x) would not use the primary key. values must not be
// empty.
func in(args *[]any, values []string) string {
	for _, v := range values {
		*args = append(*args, v)
	}
	return "(" + strings.TrimSuffix(strings.Repeat("?, ", len(values)), ", ") + ")"
}

// eachRow runs query and hands each row to scan.
func (r *Reader) eachRow(ctx context.Context, query string, args []any, scan func(driver.Rows) error) error {
	rows, err := r.conn.Query(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}
