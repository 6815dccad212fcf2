package chcurrent

import (
	"maps"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// ReplayDB is the database every captured test database is renamed to.
const ReplayDB = "rpcheck"

// testDB matches the database names internal/chtest.NewDatabase makes
// (rptest_<test name>_<8 hex>), quoted or not.
var testDB = regexp.MustCompile(`rptest_[a-z0-9_]*_[0-9a-f]{8}`)

// Normalize renames the per-test databases in q to ReplayDB, so that a
// statement every test sends is one statement.
func Normalize(q string) string {
	return testDB.ReplaceAllString(strings.TrimSpace(q), ReplayDB)
}

var createDatabase = regexp.MustCompile("(?i)^CREATE\\s+DATABASE\\s+(?:IF\\s+NOT\\s+EXISTS\\s+)?`?([A-Za-z_][A-Za-z0-9_]*)`?")

// databases finds the test databases of one test binary: those chtest made
// (rptest_...) and any other its tests created (riskbench_... of the bench
// harness, for one), and renames them to ReplayDB.
type databases struct{ re *regexp.Regexp }

func newDatabases(c Capture) databases {
	names := map[string]bool{}
	for name := range c.Databases {
		names[name] = true
	}
	for _, st := range c.Statements {
		if m := createDatabase.FindStringSubmatch(leadingComments.ReplaceAllString(st.Query, "")); m != nil {
			names[m[1]] = true
		}
	}
	delete(names, "system")
	delete(names, "default")
	delete(names, ReplayDB)
	alts := []string{testDB.String()}
	for n := range names {
		alts = append(alts, regexp.QuoteMeta(n))
	}
	sort.Slice(alts, func(i, j int) bool {
		return len(alts[i]) > len(alts[j]) || len(alts[i]) == len(alts[j]) && alts[i] < alts[j]
	})
	return databases{re: regexp.MustCompile(`\b(?:` + strings.Join(alts, "|") + `)\b`)}
}

// find returns the first test database q names, or "".
func (d databases) find(q string) string { return d.re.FindString(q) }

// normalize renames q's test databases to ReplayDB.
func (d databases) normalize(q string) string {
	return d.re.ReplaceAllString(strings.TrimSpace(q), ReplayDB)
}

// Kind sorts statements by how they are replayed.
type Kind int

const (
	// KindRead returns rows: both engines' results are compared.
	KindRead Kind = iota
	// KindInsert is a native-format INSERT (PrepareBatch): its data never
	// reached the query log, so it is replayed with rows of its table.
	KindInsert
	// KindOther changes schema or data: both engines must accept it.
	KindOther
)

func (k Kind) String() string {
	return [...]string{"read", "insert", "other"}[k]
}

var (
	leadingComments = regexp.MustCompile(`^(\s*--[^\n]*\n)*\s*`)
	nativeInsert    = regexp.MustCompile(`(?is)^INSERT\s+INTO\s+(\S+)\s*\(([^)]*)\)\s*FORMAT\s+Native\s*$`)
)

// Classify tells how q is replayed.
func Classify(q string) Kind {
	body := leadingComments.ReplaceAllString(q, "")
	if nativeInsert.MatchString(body) {
		return KindInsert
	}
	word := strings.ToUpper(strings.SplitN(strings.TrimLeft(body, "( \t\n"), " ", 2)[0])
	word = strings.TrimRight(word, "\n\t")
	switch word {
	case "SELECT", "WITH", "SHOW", "DESCRIBE", "DESC", "EXISTS":
		return KindRead
	}
	return KindOther
}

// InsertTarget splits a native-format INSERT into its table and column
// list.
func InsertTarget(q string) (table, columns string, ok bool) {
	m := nativeInsert.FindStringSubmatch(leadingComments.ReplaceAllString(q, ""))
	if m == nil {
		return "", "", false
	}
	return m[1], strings.TrimSpace(m[2]), true
}

// IsSchema tells whether q builds the schema a scenario starts from (every
// scenario replays its own, so they are not entries).
func IsSchema(q string) bool {
	body := strings.ToUpper(leadingComments.ReplaceAllString(q, ""))
	return strings.HasPrefix(body, "CREATE DATABASE") ||
		strings.HasPrefix(body, "CREATE TABLE") || strings.HasPrefix(body, "CREATE VIEW") ||
		strings.HasPrefix(body, "CREATE MATERIALIZED VIEW")
}

var destructiveRE = regexp.MustCompile(`(?i)^(DROP|TRUNCATE|DETACH|RENAME)\b|^ALTER\s+TABLE\s+\S+\s+(DROP|DELETE|DETACH)\b`)

var dropDatabaseRE = regexp.MustCompile(`(?i)^DROP\s+DATABASE\b`)

// removal orders a scenario's statements: 0 keeps everything, 1 removes
// tables or rows, 2 removes the database. A DROP DATABASE is one entry
// for every scenario (the database name is normalized) and goes to the
// scenario with the most rows, in the order it was first seen: another
// test's cleanup may precede this scenario's own removals in the log.
func removal(q string) int {
	q = leadingComments.ReplaceAllString(q, "")
	switch {
	case dropDatabaseRE.MatchString(q):
		return 2
	case destructiveRE.MatchString(q):
		return 1
	}
	return 0
}

// Entry is one distinct statement (after Normalize).
type Entry struct {
	SQL  string
	Kind Kind
	// Seen is how often the tests sent it; Failed how often 18.16 raised
	// an exception for it then (a test may send a bad statement on purpose).
	Seen, Failed int
}

// Scenario is one test database: the schema its tests created, its rows
// when the test ended, and the distinct statements replayed against it.
type Scenario struct {
	Key     string   // capture directory and original database name
	Schema  []string // normalised CREATE DATABASE/TABLE statements, in log order
	Data    Database // may have no tables (dropped by its test)
	Entries []*Entry // see NewPlan for the order
}

// Plan is the replay of a set of captures.
type Plan struct {
	Scenarios  []*Scenario
	Entries    int // distinct statements
	Statements int // statements sent by the tests
}

// NewPlan deduplicates the captured statements and gives each one the
// scenario with the most rows among the test databases that sent it, so
// that reads are compared on data rather than on empty tables. A statement
// naming no test database runs in an empty scenario.
func NewPlan(captures []Capture) *Plan {
	var (
		p       = &Plan{}
		order   []string // distinct statements, first-seen order
		entries = map[string]*Entry{}
		occ     = map[string][]string{} // statement -> scenario keys
		scens   = map[string]*Scenario{}
		schemas = map[string]map[string]bool{}
		// schema statement -> the first scenario that ran it
		schemaAt    = map[string]string{}
		schemaOrder []string
	)
	scenario := func(c Capture, db string) *Scenario {
		key := c.Dir + "|" + db
		s := scens[key]
		if s == nil {
			s = &Scenario{Key: key, Data: c.Databases[db]}
			if db == "" {
				s.Data = Database{}
			}
			scens[key] = s
			schemas[key] = map[string]bool{}
		}
		return s
	}
	for _, c := range captures {
		dbs := newDatabases(c)
		for _, st := range c.Statements {
			db := dbs.find(st.Query)
			s := scenario(c, db)
			q := dbs.normalize(st.Query)
			if db != "" && IsSchema(q) {
				if !schemas[s.Key][q] {
					schemas[s.Key][q] = true
					s.Schema = append(s.Schema, q)
				}
				if _, ok := schemaAt[q]; !ok {
					schemaAt[q] = s.Key
					schemaOrder = append(schemaOrder, q)
				}
				p.Statements++
				continue
			}
			p.Statements++
			e := entries[q]
			if e == nil {
				e = &Entry{SQL: q, Kind: Classify(q)}
				entries[q] = e
				order = append(order, q)
			}
			e.Seen++
			if st.Exception != "" {
				e.Failed++
			}
			occ[q] = append(occ[q], s.Key)
		}
	}
	rows := func(key string) int {
		n := 0
		for _, t := range scens[key].Data.Tables {
			n += t.NRows
		}
		return n
	}
	used := map[string]bool{}
	var reads, rest, inOrder = map[string][]*Entry{}, map[string][]*Entry{}, map[string][]*Entry{}
	for _, q := range order {
		best := occ[q][0]
		for _, k := range occ[q][1:] {
			if rows(k) > rows(best) {
				best = k
			}
		}
		e := entries[q]
		if e.Kind == KindRead {
			reads[best] = append(reads[best], e)
		} else {
			rest[best] = append(rest[best], e)
		}
		inOrder[best] = append(inOrder[best], e)
		used[best] = true
	}
	// A schema statement is checked by every scenario that replays it:
	// make sure one does.
	for _, q := range schemaOrder {
		covered := false
		for k := range used {
			covered = covered || schemas[k][q]
		}
		if !covered {
			used[schemaAt[q]] = true
		}
	}
	// The log orders statements of one second only roughly: databases
	// before their tables, a plain CREATE DATABASE before IF NOT EXISTS.
	rank := func(q string) int {
		switch m := createDatabase.FindStringSubmatchIndex(q); {
		case m == nil:
			return 2
		case strings.Contains(strings.ToUpper(q[:m[1]]), "IF NOT EXISTS"):
			return 1
		}
		return 0
	}
	for _, s := range scens {
		sort.SliceStable(s.Schema, func(i, j int) bool { return rank(s.Schema[i]) < rank(s.Schema[j]) })
	}
	for _, k := range slices.Sorted(maps.Keys(used)) {
		s := scens[k]
		// Reads first on the rows its test left, when there are any;
		// otherwise in log order (the bench harness generates its rows with
		// INSERT ... SELECT). Statements that remove tables or data go last,
		// so that the others still find the scenario's tables.
		if rows(k) > 0 {
			s.Entries = append(reads[k], rest[k]...)
		} else {
			s.Entries = inOrder[k]
		}
		sort.SliceStable(s.Entries, func(i, j int) bool {
			return removal(s.Entries[i].SQL) < removal(s.Entries[j].SQL)
		})
		p.Scenarios = append(p.Scenarios, s)
	}
	p.Entries = len(order) + len(schemaOrder)
	return p
}
