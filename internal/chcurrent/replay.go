package chcurrent

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// Engine runs one statement and returns its result as TabSeparated text.
// data, when not empty, is the inline data of an INSERT ... FORMAT
// TabSeparated.
type Engine interface {
	Exec(sql, data string) (string, error)
}

// RowsReader is an Engine that can print a table's rows as text the
// current engine reads back the same (a Server).
type RowsReader interface {
	Rows(table string, columns []string) (string, error)
}

// oldRows prints table's columns (a comma-separated list) on old.
func oldRows(old Engine, table, columns string) (string, error) {
	var cols []string
	for _, c := range strings.Split(columns, ",") {
		cols = append(cols, strings.TrimSpace(c))
	}
	if rr, ok := old.(RowsReader); ok {
		return rr.Rows(table, cols)
	}
	return old.Exec("SELECT "+columns+" FROM "+table+" FORMAT TabSeparated", "")
}

// Server is an Engine over a server's HTTP interface (18.16 here).
type Server struct {
	h *httpClient
}

// NewServer returns an Engine for the server at httpAddr.
func NewServer(httpAddr string) *Server { return &Server{h: newHTTP(httpAddr)} }

// Exec implements Engine.
func (s *Server) Exec(sql, data string) (string, error) {
	return s.h.query(context.Background(), sql, data)
}

// Rows implements RowsReader.
func (s *Server) Rows(table string, columns []string) (string, error) {
	ctx := context.Background()
	sel, err := textColumns(ctx, s.h, table, columns)
	if err != nil {
		return "", err
	}
	return s.h.query(ctx, "SELECT "+sel+" FROM "+table+" FORMAT TabSeparated", "")
}

// Outcome of one statement on one engine.
type Outcome struct {
	Result string
	Err    error
}

// Failure is a statement the current engine rejects, or a read whose
// result differs from 18.16's on the same data.
type Failure struct {
	Scenario string
	SQL      string
	Kind     string // what went wrong
	Old, Cur Outcome
}

func (f Failure) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s\n  (replayed in the rows of test database %s)\n", f.Kind, f.SQL, f.Scenario)
	if f.Old.Err != nil {
		fmt.Fprintf(&b, "  18.16 error: %s\n", firstLine(f.Old.Err.Error()))
	}
	if f.Cur.Err != nil {
		fmt.Fprintf(&b, "  current error: %s\n", firstLine(f.Cur.Err.Error()))
	}
	if f.Old.Err == nil && f.Cur.Err == nil {
		fmt.Fprintf(&b, "  18.16 result:\n%s  current result:\n%s", indent(f.Old.Result), indent(f.Cur.Result))
	}
	return b.String()
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	if len(s) > 400 {
		s = s[:400] + "..."
	}
	return s
}

func indent(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > 10 {
		lines = append(lines[:10], fmt.Sprintf("... (%d lines)", len(lines)))
	}
	return "    " + strings.Join(lines, "\n    ") + "\n"
}

// Report is the outcome of a replay.
type Report struct {
	Failures []Failure
	// Compared reads (same result), accepted writes and schema statements,
	// statements both engines reject (e.g. sent by a test on purpose, or
	// after its table was dropped), and statements only 18.16 rejects.
	Compared, Accepted, BothReject, OldRejects int
	// ServerState counts reads of the server itself (see serverState):
	// accepted by both, results not compared.
	ServerState int
	// Rejected lists the statements both engines reject, for the log.
	Rejected []Failure
}

// Replay runs p on both engines.
func Replay(old, cur Engine, p *Plan) (*Report, error) {
	r := &Report{}
	// Rows are kept as inserted on both: since 21.1 ClickHouse collapses
	// same-key rows of one INSERT (optimize_on_insert), 18.16 does not.
	if _, err := cur.Exec("SET optimize_on_insert = 0", ""); err != nil {
		return r, err
	}
	for _, s := range p.Scenarios {
		if err := replayScenario(old, cur, s, r); err != nil {
			return r, fmt.Errorf("scenario %s: %w", s.Key, err)
		}
	}
	return r, nil
}

var (
	db = "`" + ReplayDB + "`"
	// optimizeRE: statements that need the merge pool: OPTIMIZE, and the
	// mutations (ALTER TABLE ... DELETE | UPDATE), which a current engine
	// run as a library (clickhouse-local) executes before it answers, so
	// that with merges stopped it would wait for ever.
	optimizeRE = regexp.MustCompile(`(?i)^\s*(OPTIMIZE\b|ALTER\s+TABLE\s+\S+\s+(DELETE|UPDATE)\b)`)
)

func both(old, cur Engine, sql, data string) (Outcome, Outcome) {
	o, oerr := old.Exec(sql, data)
	c, cerr := cur.Exec(sql, data)
	return Outcome{o, oerr}, Outcome{c, cerr}
}

// must runs a set-up statement on both engines.
func must(old, cur Engine, sql, data string) error {
	if _, err := old.Exec(sql, data); err != nil {
		return fmt.Errorf("18.16: %s: %w", firstLine(sql), err)
	}
	if _, err := cur.Exec(sql, data); err != nil {
		return fmt.Errorf("current: %s: %w", firstLine(sql), err)
	}
	return nil
}

func replayScenario(old, cur Engine, s *Scenario, r *Report) error {
	if err := must(old, cur, "DROP DATABASE IF EXISTS "+db, ""); err != nil {
		return err
	}
	if len(s.Schema) == 0 || !createDatabase.MatchString(s.Schema[0]) {
		if err := must(old, cur, "CREATE DATABASE "+db, ""); err != nil {
			return err
		}
	}
	// The schema its test created, which checks each of its statements.
	for _, q := range s.Schema {
		o, c := both(old, cur, q, "")
		r.count(Failure{Scenario: s.Key, SQL: q, Old: o, Cur: c}, false, false)
	}
	// Tables the log does not explain (none today) come from 18.16's own
	// definition.
	have, err := old.Exec("SELECT name FROM system.tables WHERE database = '"+ReplayDB+"'", "")
	if err != nil {
		return err
	}
	exists := map[string]bool{}
	for _, n := range strings.Split(have, "\n") {
		exists[n] = true
	}
	for _, t := range s.Data.Tables {
		if !exists[t.Name] {
			q := Normalize(t.Create)
			if err := must(old, cur, q, ""); err != nil {
				return err
			}
		}
	}
	// The same rows in both, kept as inserted: no background merges (only
	// an OPTIMIZE merges, on both).
	if err := must(old, cur, "SYSTEM STOP MERGES", ""); err != nil {
		return err
	}
	for _, t := range s.Data.Tables {
		if t.Rows == "" {
			continue
		}
		q := "INSERT INTO " + db + ".`" + t.Name + "` FORMAT TabSeparated"
		if err := must(old, cur, q, t.Rows); err != nil {
			return fmt.Errorf("load rows: %w", err)
		}
	}
	for _, e := range s.Entries {
		optimize := optimizeRE.MatchString(e.SQL)
		if optimize {
			if err := must(old, cur, "SYSTEM START MERGES", ""); err != nil {
				return err
			}
		}
		sql, data := e.SQL, ""
		if e.Kind == KindInsert {
			// The batch's rows are not in the log: insert the table's own
			// rows again, as text, through the same column list.
			table, cols, _ := InsertTarget(e.SQL)
			rows, err := oldRows(old, table, cols)
			if err != nil {
				return fmt.Errorf("rows for %s: %w", firstLine(e.SQL), err)
			}
			sql, data = "INSERT INTO "+table+" ("+cols+") FORMAT TabSeparated", rows
			if rows == "" { // no rows to send: the column list is still checked
				sql = "INSERT INTO " + table + " (" + cols + ") SELECT " + cols + " FROM " + table
			}
		}
		o, c := both(old, cur, sql, data)
		r.count(Failure{Scenario: s.Key, SQL: e.SQL, Old: o, Cur: c}, e.Kind == KindRead, e.Failed == e.Seen)
		if optimize {
			if err := must(old, cur, "SYSTEM STOP MERGES", ""); err != nil {
				return err
			}
		}
	}
	return must(old, cur, "DROP DATABASE IF EXISTS "+db, "")
}

// count sorts one outcome. failedInTests: 18.16 raised an exception every
// time the tests sent the statement.
func (r *Report) count(f Failure, read, failedInTests bool) {
	switch {
	case f.Old.Err == nil && f.Cur.Err != nil:
		f.Kind = "rejected by the current engine"
		r.Failures = append(r.Failures, f)
	case f.Old.Err != nil && f.Cur.Err != nil && failedInTests:
		r.BothReject++
		f.Kind = "rejected by both (as in the tests)"
		r.Rejected = append(r.Rejected, f)
	case f.Old.Err != nil && f.Cur.Err != nil:
		// 18.16 ran it in the tests but not here: the replay lacks what
		// the statement needs, so it went unchecked.
		f.Kind = "not checked (18.16 ran it in the tests, both engines reject it in the replay)"
		r.Failures = append(r.Failures, f)
	case f.Old.Err != nil:
		r.OldRejects++
	case !read:
		r.Accepted++
	case serverState.MatchString(f.SQL):
		r.ServerState++
	case SameResult(f.SQL, f.Old.Result, f.Cur.Result):
		r.Compared++
	default:
		f.Kind = "result differs on the current engine"
		r.Failures = append(r.Failures, f)
	}
}

// serverState matches reads about the server rather than riskpipe's data:
// its version and the storage it uses (part sizes differ with the part
// format and compression of each version), its merges, mutations and
// metrics. Both engines must accept them; their results differ by nature.
var serverState = regexp.MustCompile(`(?i)\b(version|uptime)\(\)|\bsystem\.(parts|parts_columns|columns_sizes|merges|mutations|metrics|asynchronous_metrics|events|processes|query_log|disks|build_options|macros|columns)\b`)

// Documented differences in how the versions print the same value: the
// zero DateTime and Date print as 0000-00-00 on 18.16 and as 1970-01-01 on
// current versions (the native protocol gives Unix 0 on both).
var zeroTimes = strings.NewReplacer("0000-00-00 00:00:00", "1970-01-01 00:00:00", "0000-00-00", "1970-01-01")

// SameResult compares 18.16's result of q with the current engine's, after
// the documented normalisation; as sorted sets of lines when q has no
// ORDER BY of its own, as ClickHouse then returns rows in any order.
// A query with a LIMIT but no ORDER BY may return any of its rows: then
// only the number of rows is compared.
func SameResult(q, old, cur string) bool {
	old = zeroTimes.Replace(old)
	switch {
	case Ordered(q):
		return old == cur
	case topLevel(q, limitRE):
		return strings.Count(old, "\n") == strings.Count(cur, "\n")
	}
	return sortedLines(old) == sortedLines(cur)
}

func sortedLines(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

var (
	orderBy = regexp.MustCompile(`(?i)^ORDER\s+BY\b`)
	limitRE = regexp.MustCompile(`(?i)^LIMIT\b`)
)

// Ordered tells whether q's outermost query has an ORDER BY (one inside a
// subquery does not order the result).
func Ordered(q string) bool { return topLevel(q, orderBy) }

// topLevel tells whether kw (anchored at ^) starts a word of q outside
// parentheses. Strings, quoted names and comments are skipped.
func topLevel(q string, kw *regexp.Regexp) bool {
	depth := 0
	for i := 0; i < len(q); i++ {
		switch ch := q[i]; {
		case ch == '\'' || ch == '`' || ch == '"':
			for i++; i < len(q) && q[i] != ch; i++ {
				if q[i] == '\\' {
					i++
				}
			}
		case ch == '-' && strings.HasPrefix(q[i:], "--"):
			for i < len(q) && q[i] != '\n' {
				i++
			}
		case ch == '(':
			depth++
		case ch == ')':
			depth--
		case depth == 0 && isIdent(ch) && (i == 0 || !isIdent(q[i-1])) && kw.MatchString(q[i:]):
			return true
		}
	}
	return false
}

func isIdent(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}
