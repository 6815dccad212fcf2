package privacy

import (
	"context"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// tmpPrefix starts the name of every table a request creates (Memory
// tables, dropped when the request ends). The proof scan skips them.
const tmpPrefix = "privacy_tmp_"

// Needle kinds.
const (
	kindEmail = "email"
	kindID    = "id"
)

// needles is a request's Memory table of identifiers: row 0 the email,
// then the user ids. Statements name the table, never its values.
type needles struct {
	conn  driver.Conn
	db    string // quoted
	table string // unquoted name
	email string
	ids   []string
	seq   int // key tables created
	// full: search every row of every table (no Index, no
	// LookupColumn), as the proof does.
	full bool
}

func (n *needles) qualified() string { return n.db + ".`" + n.table + "`" }

// count is the number of needles (the email and the ids).
func (n *needles) count() int { return 1 + len(n.ids) }

// create makes the Memory table and writes the email (needle 0).
func (n *needles) create(ctx context.Context) error {
	if err := n.conn.Exec(ctx, "CREATE TABLE IF NOT EXISTS "+n.qualified()+" (i UInt32, kind String, needle String) ENGINE = Memory"); err != nil {
		return fmt.Errorf("create request table: %w", err)
	}
	return n.insert(ctx, 0, kindEmail, []string{n.email})
}

func (n *needles) insert(ctx context.Context, from int, kind string, vals []string) error {
	if len(vals) == 0 {
		return nil
	}
	b, err := n.conn.PrepareBatch(ctx, "INSERT INTO "+n.qualified()+" (i, kind, needle)")
	if err != nil {
		return fmt.Errorf("write request table: %w", err)
	}
	for i, v := range vals {
		if err := b.Append(uint32(from+i), kind, v); err != nil {
			_ = b.Abort()
			return fmt.Errorf("write request table: %w", err)
		}
	}
	if err := b.Send(); err != nil {
		return fmt.Errorf("write request table: %w", err)
	}
	return nil
}

// addIDs adds user ids not yet known (ids are never empty).
func (n *needles) addIDs(ctx context.Context, ids []string) error {
	var fresh []string
	for _, id := range ids {
		if id != "" && !contains(n.ids, id) && !contains(fresh, id) {
			fresh = append(fresh, id)
		}
	}
	if err := n.insert(ctx, n.count(), kindID, fresh); err != nil {
		return err
	}
	n.ids = append(n.ids, fresh...)
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// needle is a scalar subquery for needle i.
func (n *needles) needle(i int) string {
	return fmt.Sprintf("(SELECT any(needle) FROM %s WHERE i = %d)", n.qualified(), i)
}

// ownedExpr is true for a row that is the person's in table t.
func (n *needles) ownedExpr(t *Table) string {
	var or []string
	for _, c := range t.LoginColumns {
		or = append(or, fmt.Sprintf("lowerUTF8(%s) = %s", quoteIdent(c), n.needle(0)))
	}
	for _, c := range t.IDColumns {
		or = append(or, fmt.Sprintf("%s IN (SELECT needle FROM %s WHERE kind = '%s')", quoteIdent(c), n.qualified(), kindID))
	}
	if len(or) == 0 {
		return "0"
	}
	return "(" + strings.Join(or, " OR ") + ")"
}

// restrict is a PREWHERE condition selecting the rows of t that the
// table's index (Index, LookupColumn) lists for the email or an id, or ""
// when the table has none or the search is full.
func (n *needles) restrict(t *Table) string {
	if n.full {
		return ""
	}
	set := "(SELECT lowerUTF8(needle) FROM " + n.qualified() + ")"
	switch {
	case t.LookupColumn != "":
		return quoteIdent(t.LookupColumn) + " IN " + set
	case t.Index != nil:
		keys := make([]string, len(t.Key))
		for i, c := range t.Key {
			keys[i] = quoteIdent(c)
		}
		k := strings.Join(keys, ", ")
		return fmt.Sprintf("(%s) IN (SELECT %s FROM %s.%s WHERE %s IN %s)", k, k, n.db, quoteIdent(t.Index.Table), quoteIdent(t.Index.Column), set)
	}
	return ""
}

// mentionExpr is true for a row where a text column contains a needle
// (case-insensitively).
func (n *needles) mentionExpr(cols []column) string {
	var or []string
	for _, c := range cols {
		x := c.textExpr()
		if x == "" {
			continue
		}
		for i := 0; i < n.count(); i++ {
			or = append(or, fmt.Sprintf("positionCaseInsensitiveUTF8(%s, %s) > 0", x, n.needle(i)))
		}
	}
	if len(or) == 0 {
		return "0"
	}
	return "(" + strings.Join(or, " OR ") + ")"
}

// column is a column of a table, from system.columns.
type column struct {
	name, typ string
}

// textExpr is the column as one String, or "" when it holds no text.
func (c column) textExpr() string {
	q := quoteIdent(c.name)
	switch c.typ {
	case "String":
		return q
	case "Nullable(String)":
		return "ifNull(" + q + ", '')"
	case "Array(String)":
		return "arrayStringConcat(" + q + ", '\\n')"
	case "LowCardinality(String)", "LowCardinality(Nullable(String))":
		return "ifNull(toString(" + q + "), '')"
	}
	if strings.HasPrefix(c.typ, "FixedString(") {
		return "toString(" + q + ")"
	}
	return ""
}

func quoteIdent(s string) string { return "`" + strings.ReplaceAll(s, "`", "\\`") + "`" }

// schema reads the columns of every table of the database (Views skipped:
// they hold no data), table name → columns in order.
func readSchema(ctx context.Context, conn driver.Conn, db string) (map[string][]column, []string, error) {
	rows, err := conn.Query(ctx, `SELECT table, name, type FROM system.columns
		WHERE database = ? AND table IN (SELECT name FROM system.tables WHERE database = ? AND engine NOT IN ('View', 'MaterializedView'))
		ORDER BY table`, db, db)
	if err != nil {
		return nil, nil, fmt.Errorf("read schema: %w", err)
	}
	defer rows.Close()
	out := map[string][]column{}
	var order []string
	for rows.Next() {
		var tbl, name, typ string
		if err := rows.Scan(&tbl, &name, &typ); err != nil {
			return nil, nil, fmt.Errorf("read schema: %w", err)
		}
		if _, ok := out[tbl]; !ok {
			order = append(order, tbl)
		}
		out[tbl] = append(out[tbl], column{name, typ})
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("read schema: %w", err)
	}
	return out, order, nil
}

// record is one row, column name → value.
type record struct {
	cols  []string
	vals  []any
	owned bool
	match bool // matchCol, when the query has it
}

// get returns the value of column name.
func (r *record) get(name string) any {
	for i, c := range r.cols {
		if c == name {
			return r.vals[i]
		}
	}
	return nil
}

// asMap is the row for JSON: times in RFC 3339 UTC.
func (r *record) asMap() map[string]any {
	m := make(map[string]any, len(r.cols))
	for i, c := range r.cols {
		v := r.vals[i]
		if t, ok := v.(time.Time); ok {
			v = t.UTC().Format(time.RFC3339)
		}
		m[c] = v
	}
	return m
}

// queryRecords runs q and reads every row generically; the last
// extra columns (e.g. the owned flag) are returned apart.
func queryRecords(ctx context.Context, conn driver.Conn, q string) ([]record, error) {
	rows, err := conn.Query(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	types := rows.ColumnTypes()
	names := rows.Columns()
	var out []record
	for rows.Next() {
		dst := make([]any, len(types))
		for i, ct := range types {
			dst[i] = reflect.New(ct.ScanType()).Interface()
		}
		if err := rows.Scan(dst...); err != nil {
			return nil, err
		}
		r := record{}
		for i, name := range names {
			v := reflect.ValueOf(dst[i]).Elem().Interface()
			switch name {
			case ownedCol:
				r.owned = toUint(v) == 1
				continue
			case matchCol:
				r.match = toUint(v) == 1
				continue
			}
			r.cols = append(r.cols, name)
			r.vals = append(r.vals, v)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

const (
	ownedCol = "privacy_owned__"
	matchCol = "privacy_match__"
)

// latest keeps, of each Key's versions, the one with the highest Version
// (what FINAL returns from a ReplacingMergeTree(version)) if it matches.
func latest(t *Table, recs []record) ([]record, error) {
	keys, err := keyValues(t, recs)
	if err != nil {
		return nil, err
	}
	best := map[string]int{}
	var order []string
	for i := range recs {
		k := strings.Join(keys[i], "\x00")
		j, ok := best[k]
		if !ok {
			order = append(order, k)
			best[k] = i
			continue
		}
		if toUint(recs[i].get(t.Version)) > toUint(recs[j].get(t.Version)) {
			best[k] = i
		}
	}
	var out []record
	for _, k := range order {
		if r := recs[best[k]]; r.match {
			out = append(out, r)
		}
	}
	return out, nil
}

func toUint(v any) uint64 {
	switch x := v.(type) {
	case uint8:
		return uint64(x)
	case uint64:
		return x
	case uint32:
		return uint64(x)
	case int64:
		return uint64(x)
	}
	return 0
}

// findRows returns the rows of table t (declared or not: an undeclared
// table has no owner columns) that are the person's or mention them. With
// final (a ReplacingMergeTree with a String key), the keys of matching
// rows are found first without FINAL, then those rows are read with FINAL
// through a key table, so FINAL never runs over the whole table.
func (n *needles) findRows(ctx context.Context, t *Table, cols []column, final bool) ([]record, error) {
	match := n.ownedExpr(t) + " OR " + n.mentionExpr(cols)
	tbl := n.db + "." + quoteIdent(t.Name)
	if pre := n.restrict(t); pre != "" {
		if !final || t.Version == "" {
			fin := ""
			if final {
				fin = " FINAL"
			}
			q := fmt.Sprintf("SELECT *, %s AS %s FROM %s%s PREWHERE %s WHERE %s", n.ownedExpr(t), ownedCol, tbl, fin, pre, match)
			recs, err := queryRecords(ctx, n.conn, q)
			if err != nil {
				return nil, fmt.Errorf("search %s: %w", t.Name, err)
			}
			return recs, nil
		}
		// Every version of the listed keys, without FINAL (at 10^7 rows
		// FINAL over every part's raw exceeds 18.16's memory limit even
		// when few rows pass PREWHERE); the current version of each key
		// is the highest, as FINAL would pick, and counts if it matches.
		q := fmt.Sprintf("SELECT *, %s AS %s, %s AS %s FROM %s PREWHERE %s", n.ownedExpr(t), ownedCol, match, matchCol, tbl, pre)
		recs, err := queryRecords(ctx, n.conn, q)
		if err != nil {
			return nil, fmt.Errorf("search %s: %w", t.Name, err)
		}
		return latest(t, recs)
	}
	if !final || len(t.Key) == 0 {
		q := fmt.Sprintf("SELECT *, %s AS %s FROM %s WHERE %s", n.ownedExpr(t), ownedCol, tbl, match)
		recs, err := queryRecords(ctx, n.conn, q)
		if err != nil {
			return nil, fmt.Errorf("search %s: %w", t.Name, err)
		}
		return recs, nil
	}
	keyCols := make([]string, len(t.Key))
	ks := make([]string, len(t.Key))
	for i, c := range t.Key {
		keyCols[i] = quoteIdent(c)
		ks[i] = fmt.Sprintf("k%d", i+1)
	}
	keys, err := queryRecords(ctx, n.conn, fmt.Sprintf("SELECT DISTINCT %s FROM %s WHERE %s", strings.Join(keyCols, ", "), tbl, match))
	if err != nil {
		return nil, fmt.Errorf("search %s: %w", t.Name, err)
	}
	if len(keys) == 0 {
		return nil, nil
	}
	kt, err := n.keyTable(ctx, t, keys)
	if err != nil {
		return nil, err
	}
	defer func() { _ = n.conn.Exec(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS "+n.db+".`"+kt+"`") }()
	keyIn := fmt.Sprintf("(%s) IN (SELECT %s FROM %s.`%s`)", strings.Join(keyCols, ", "), strings.Join(ks, ", "), n.db, kt)
	if t.Version != "" && t.Index != nil {
		// An indexed table (its Key is its sorting key, as the index
		// path above relies on): every version of those keys without
		// FINAL, the current one picked as there (FINAL over a large
		// table exceeds 18.16's memory limit even through PREWHERE).
		q := fmt.Sprintf("SELECT *, %s AS %s, %s AS %s FROM %s PREWHERE %s", n.ownedExpr(t), ownedCol, match, matchCol, tbl, keyIn)
		recs, err := queryRecords(ctx, n.conn, q)
		if err != nil {
			return nil, fmt.Errorf("search %s: %w", t.Name, err)
		}
		return latest(t, recs)
	}
	// PREWHERE: with the key condition in WHERE, 18.16 reads the whole
	// table with FINAL (and runs out of memory at 10^6 rows).
	q := fmt.Sprintf("SELECT *, %s AS %s FROM %s FINAL PREWHERE %s WHERE %s", n.ownedExpr(t), ownedCol, tbl, keyIn, match)
	recs, err := queryRecords(ctx, n.conn, q)
	if err != nil {
		return nil, fmt.Errorf("search %s: %w", t.Name, err)
	}
	return recs, nil
}

// versions returns the Key values and version (as a String) of every row
// version of t, in every part, that is the person's or mentions them: a
// deletion deletes exactly these versions of the rows it redacts (the
// redacted version it writes does not match).
func (n *needles) versions(ctx context.Context, t *Table, cols []column) ([][]string, error) {
	sel := make([]string, 0, len(t.Key)+1)
	for _, c := range t.Key {
		sel = append(sel, quoteIdent(c))
	}
	sel = append(sel, "toString("+quoteIdent(t.Version)+")")
	q := fmt.Sprintf("SELECT DISTINCT %s FROM %s.%s", strings.Join(sel, ", "), n.db, quoteIdent(t.Name))
	if pre := n.restrict(t); pre != "" {
		q += " PREWHERE " + pre
	}
	q += " WHERE " + n.ownedExpr(t) + " OR " + n.mentionExpr(cols)
	recs, err := queryRecords(ctx, n.conn, q)
	if err != nil {
		return nil, fmt.Errorf("search versions of %s: %w", t.Name, err)
	}
	out := make([][]string, 0, len(recs))
	for _, r := range recs {
		row := make([]string, len(r.vals))
		for i, v := range r.vals {
			s, ok := v.(string)
			if !ok {
				return nil, fmt.Errorf("privacy: table %s: key column %s is not a String", t.Name, r.cols[i])
			}
			row[i] = s
		}
		out = append(out, row)
	}
	return out, nil
}

// keyValues are the Key values of rows of t.
func keyValues(t *Table, rows []record) ([][]string, error) {
	out := make([][]string, 0, len(rows))
	for _, r := range rows {
		vals := make([]string, len(t.Key))
		for i, c := range t.Key {
			v, ok := r.get(c).(string)
			if !ok {
				return nil, fmt.Errorf("privacy: table %s: key column %s is not a String", t.Name, c)
			}
			vals[i] = v
		}
		out = append(out, vals)
	}
	return out, nil
}

// keyTable writes the Key values of rows into a new Memory table of the
// request (columns k1..kn String) and returns its name.
func (n *needles) keyTable(ctx context.Context, t *Table, rows []record) (string, error) {
	vals, err := keyValues(t, rows)
	if err != nil {
		return "", err
	}
	return n.valuesTable(ctx, len(t.Key), vals)
}

// valuesTable writes rows of width String values into a new Memory table
// of the request (columns k1..kwidth) and returns its name.
func (n *needles) valuesTable(ctx context.Context, width int, rows [][]string) (string, error) {
	n.seq++
	name := fmt.Sprintf("%s_k%d", strings.TrimSuffix(n.table, "_n"), n.seq)
	defs := make([]string, width)
	ks := make([]string, width)
	for i := range width {
		ks[i] = fmt.Sprintf("k%d", i+1)
		defs[i] = ks[i] + " String"
	}
	if err := n.conn.Exec(ctx, fmt.Sprintf("CREATE TABLE %s.`%s` (%s) ENGINE = Memory", n.db, name, strings.Join(defs, ", "))); err != nil {
		return "", fmt.Errorf("create key table: %w", err)
	}
	b, err := n.conn.PrepareBatch(ctx, fmt.Sprintf("INSERT INTO %s.`%s` (%s)", n.db, name, strings.Join(ks, ", ")))
	if err != nil {
		return "", fmt.Errorf("write key table: %w", err)
	}
	for _, r := range rows {
		vals := make([]any, width)
		for i, v := range r {
			vals[i] = v
		}
		if err := b.Append(vals...); err != nil {
			_ = b.Abort()
			return "", fmt.Errorf("write key table: %w", err)
		}
	}
	if err := b.Send(); err != nil {
		return "", fmt.Errorf("write key table: %w", err)
	}
	return name, nil
}

// countMentions counts the rows of a table (every version, every part)
// that are the person's or mention them: the proof. A MergeTree table is
// counted one partition at a time (the _part condition selects its parts),
// so that no single query outlasts the connection's read timeout at 10^7
// rows; partitions that appear meanwhile (ingestion) are counted too, and
// a merge never moves rows between partitions.
func (n *needles) countMentions(ctx context.Context, t *Table, cols []column) (uint64, error) {
	q := fmt.Sprintf("SELECT count() FROM %s.%s WHERE %s OR %s", n.db, quoteIdent(t.Name), n.ownedExpr(t), n.mentionExpr(cols))
	seen := map[string]bool{}
	var total uint64
	for {
		ids, err := activePartitions(ctx, n.conn, strings.Trim(n.db, "`"), t.Name)
		if err != nil {
			return 0, fmt.Errorf("scan %s: %w", t.Name, err)
		}
		if len(seen) == 0 && len(ids) == 0 {
			// Not a MergeTree (or empty): one query.
			var c uint64
			if err := n.conn.QueryRow(ctx, q).Scan(&c); err != nil {
				return 0, fmt.Errorf("scan %s: %w", t.Name, err)
			}
			return c, nil
		}
		fresh := 0
		for _, id := range ids {
			if seen[id] {
				continue
			}
			seen[id] = true
			fresh++
			var c uint64
			pq := fmt.Sprintf("SELECT count() FROM %s.%s WHERE startsWith(_part, ?) AND (%s OR %s)", n.db, quoteIdent(t.Name),
				n.ownedExpr(t), n.mentionExpr(cols))
			if err := n.conn.QueryRow(ctx, pq, id+"_").Scan(&c); err != nil {
				return 0, fmt.Errorf("scan %s: %w", t.Name, err)
			}
			total += c
		}
		if fresh == 0 {
			return total, nil
		}
	}
}

// activePartitions lists the partition ids of a table's active parts.
func activePartitions(ctx context.Context, conn driver.Conn, db, table string) ([]string, error) {
	rows, err := conn.Query(ctx, "SELECT DISTINCT partition_id FROM system.parts WHERE database = ? AND table = ? AND active ORDER BY partition_id", db, table)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// partitions returns the partition ids of the parts holding rows of t that
// are the person's or mention them.
func (n *needles) partitions(ctx context.Context, t *Table, cols []column) ([]string, error) {
	// ClickHouse 18.16 crashes on a query reading only _part with a
	// condition moved to PREWHERE, hence the setting.
	q := fmt.Sprintf("SELECT DISTINCT _part FROM %s.%s WHERE %s OR %s SETTINGS optimize_move_to_prewhere = 0", n.db, quoteIdent(t.Name), n.ownedExpr(t), n.mentionExpr(cols))
	rows, err := n.conn.Query(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("partitions of %s: %w", t.Name, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var part string
		if err := rows.Scan(&part); err != nil {
			return nil, err
		}
		id, _, _ := strings.Cut(part, "_")
		if !contains(out, id) {
			out = append(out, id)
		}
	}
	return out, rows.Err()
}
