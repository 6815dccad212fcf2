package privacy

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/prometheus/client_golang/prometheus"
)

// Request kinds and statuses (privacy_requests.kind, .status).
const (
	KindAccess   = "access"
	KindDeletion = "deletion"

	StatusRunning = "running"
	// StatusDone: for a deletion, the proof scan found nothing left.
	StatusDone = "done"
	// StatusIncomplete: the deletion ran but the proof found the person
	// in a table it cannot delete from (an undeclared table, a key
	// column); detail names the tables.
	StatusIncomplete = "incomplete"
	// StatusFailed: an error stopped the request; run it again.
	StatusFailed = "failed"
)

// DefaultSyncTimeout is privacy.sync_timeout's default.
const DefaultSyncTimeout = 60 * time.Second

// Options configure a Service.
type Options struct {
	Conn     driver.Conn
	Database string
	Registry *Registry // default DefaultRegistry()
	// HashKey is privacy.hash_key (required).
	HashKey string
	// Forgetter is the process's in-memory state (nil: none).
	Forgetter Forgetter
	Logger    *slog.Logger
	Now       func() time.Time // default time.Now
	// PollInterval is how often mutations and parts are checked (default
	// 200 ms).
	PollInterval time.Duration
	// Registerer gets the metrics (nil: none).
	Registerer prometheus.Registerer
	// SettleFor is how long a deletion waits after writing a round's
	// subject hashes before its proof, so that other running processes
	// (which read them every WatchInterval) forgot the person first. The
	// CLI sets it when a riskpipe run is alive; 0: no wait.
	SettleFor time.Duration
}

// WatchInterval is how often a running riskpipe reads privacy_requests for
// deletions made by other processes.
const WatchInterval = 10 * time.Second

// Service answers access and deletion requests.
type Service struct {
	o      Options
	db     string // quoted
	h      *Hasher
	log    *slog.Logger
	jobs   chan *job
	mu     sync.Mutex // one deletion at a time in this process
	m      *metrics
	verMu  sync.Mutex
	verMax uint64
	// major is the server's major version (needsNudge), 0 until asked.
	majorMu sync.Mutex
	major   int
	// hook, set by tests, is called at the steps of a deletion
	// ("deletes-sent", "redacted").
	hook func(step string)
}

// New builds a Service; Run must run for Submit.
func New(o Options) (*Service, error) {
	if o.Conn == nil {
		return nil, errors.New("privacy: no ClickHouse connection")
	}
	if !identRE.MatchString(o.Database) {
		return nil, fmt.Errorf("privacy: database %q: want an identifier", o.Database)
	}
	if o.HashKey == "" {
		return nil, errors.New("privacy: privacy.hash_key is not set")
	}
	if o.Registry == nil {
		o.Registry = DefaultRegistry()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 200 * time.Millisecond
	}
	return &Service{o: o, db: "`" + o.Database + "`", h: NewHasher(o.HashKey), log: o.Logger,
		jobs: make(chan *job, 64), m: newMetrics(o.Registerer)}, nil
}

func (s *Service) step(name string) {
	if s.hook != nil {
		s.hook(name)
	}
}

// Hasher is the service's hasher (privacy.hash_key).
func (s *Service) Hasher() *Hasher { return s.h }

// AccessResult is the answer to an access request.
type AccessResult struct {
	RequestID string                      `json:"request_id"`
	Email     string                      `json:"email"`
	Tenants   []string                    `json:"tenants"`
	Counts    map[string]int              `json:"counts"`
	Records   map[string][]map[string]any `json:"records"`
}

// DeletionResult is the state of a deletion request.
type DeletionResult struct {
	RequestID  string         `json:"request_id"`
	Status     string         `json:"status"`
	Deleted    map[string]int `json:"deleted"`
	Redacted   map[string]int `json:"redacted"`
	Remaining  uint64         `json:"remaining"`
	DurationMS int64          `json:"duration_ms"`
	// Detail says what is left or what failed, never an identifier.
	Detail string `json:"detail,omitempty"`
}

// Done reports whether the deletion finished with nothing left.
func (r DeletionResult) Done() bool { return r.Status == StatusDone && r.Remaining == 0 }

func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Access returns every row about the person with this email, in every
// tenant: the declared tables' rows (current versions) and any other
// table's rows that mention the email or the person's user ids.
func (s *Service) Access(ctx context.Context, email, requestedBy string) (*AccessResult, error) {
	email, err := NormalizeEmail(email)
	if err != nil {
		return nil, err
	}
	id := newRequestID()
	start := s.o.Now()
	res := &AccessResult{RequestID: id, Email: email, Tenants: []string{}, Counts: map[string]int{}, Records: map[string][]map[string]any{}}
	aud := audit{RequestID: id, Kind: KindAccess, EmailHash: s.h.Email(email), RequestedBy: requestedBy, StartedAt: start}
	if err := s.writeAudit(ctx, aud, StatusRunning, ""); err != nil {
		return nil, err
	}
	n := s.newNeedles(id, email)
	defer s.dropTemp(context.WithoutCancel(ctx), n.table)
	found, err := s.search(ctx, n, true)
	if err != nil {
		_ = s.writeAudit(context.WithoutCancel(ctx), aud, StatusFailed, "search failed")
		s.m.requests.WithLabelValues(KindAccess, StatusFailed).Inc()
		return nil, err
	}
	tenants := map[string]bool{}
	for _, tf := range found {
		if len(tf.rows) == 0 {
			continue
		}
		list := make([]map[string]any, 0, len(tf.rows))
		for i := range tf.rows {
			list = append(list, tf.rows[i].asMap())
			if t, ok := tf.rows[i].get("tenant").(string); ok && t != "" {
				tenants[t] = true
			}
		}
		res.Records[tf.name] = list
		res.Counts[tf.name] = len(list)
	}
	for t := range tenants {
		res.Tenants = append(res.Tenants, t)
	}
	sort.Strings(res.Tenants)
	aud.Counts = mustJSON(map[string]any{"found": res.Counts})
	aud.SubjectHashes = nil
	if err := s.writeAudit(ctx, aud, StatusDone, ""); err != nil {
		return nil, err
	}
	s.m.requests.WithLabelValues(KindAccess, StatusDone).Inc()
	s.log.Info("privacy access answered", "request_id", id, "requested_by", requestedBy, "tables", len(res.Records))
	return res, nil
}

func (s *Service) newNeedles(id, email string) *needles {
	return &needles{conn: s.o.Conn, db: s.db, table: tmpPrefix + id + "_n", email: email, full: !indexable(email)}
}

// indexedEmail is what risk_event_subjects' materialized view extracts
// as an email (schema/007). An address it cannot hold whole (e.g.
// o'brien@example.com) is searched in every row, not through the index.
var indexedEmail = regexp.MustCompile(`^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+$`)

func indexable(email string) bool { return indexedEmail.MatchString(email) }

// tableFound is what a search found in one table.
type tableFound struct {
	name     string
	decl     *Table // nil: not declared
	cols     []column
	rows     []record
	declared bool
}

// search creates the request's needle table, resolves the person's user
// ids and finds their rows in every table of the database.
func (s *Service) search(ctx context.Context, n *needles, final bool) ([]tableFound, error) {
	if err := n.create(ctx); err != nil {
		return nil, err
	}
	schema, order, err := readSchema(ctx, s.o.Conn, s.o.Database)
	if err != nil {
		return nil, err
	}
	if err := s.resolveIDs(ctx, n, schema); err != nil {
		return nil, err
	}
	s.step("resolved")
	var out []tableFound
	for _, name := range order {
		if isTemp(name) {
			continue
		}
		decl := s.o.Registry.Lookup(name)
		tf := tableFound{name: name, cols: schema[name], decl: decl, declared: decl != nil}
		if decl == nil {
			decl = &Table{Name: name}
		}
		rows, err := n.findRows(ctx, decl, tf.cols, final && tf.declared && decl.Final)
		if err != nil {
			return nil, err
		}
		tf.rows = rows
		out = append(out, tf)
		s.step("read_" + name)
	}
	return out, nil
}

func isTemp(name string) bool {
	return len(name) >= len(tmpPrefix) && name[:len(tmpPrefix)] == tmpPrefix
}

// resolveIDs adds the user ids the declared id sources map the email to.
func (s *Service) resolveIDs(ctx context.Context, n *needles, schema map[string][]column) error {
	var ids []string
	for _, t := range s.o.Registry.Tables() {
		if _, ok := schema[t.Name]; !ok {
			continue
		}
		pre := ""
		if r := n.restrict(&t); r != "" {
			pre = " PREWHERE " + r
		}
		if len(t.IDSources) == 0 {
			continue
		}
		// One read of the table for all its (login, id) pairs.
		var pick, where []string
		for _, src := range t.IDSources {
			eq := fmt.Sprintf("lowerUTF8(%s) = %s", quoteIdent(src[0]), n.needle(0))
			pick = append(pick, fmt.Sprintf("if(%s, %s, '')", eq, quoteIdent(src[1])))
			where = append(where, eq)
		}
		q := fmt.Sprintf("SELECT DISTINCT arrayJoin([%s]) FROM %s.%s%s WHERE %s", strings.Join(pick, ", "), s.db, quoteIdent(t.Name), pre,
			strings.Join(where, " OR "))
		rows, err := s.o.Conn.Query(ctx, q)
		if err != nil {
			return fmt.Errorf("resolve user ids in %s: %w", t.Name, err)
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return fmt.Errorf("resolve user ids in %s: %w", t.Name, err)
			}
			if id != "" {
				ids = append(ids, id)
			}
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return fmt.Errorf("resolve user ids in %s: %w", t.Name, err)
		}
	}
	sort.Strings(ids)
	if err := n.addIDs(ctx, ids); err != nil {
		return err
	}
	return s.recoverIDs(ctx, n, schema)
}

// recoverIDs finds the user ids an earlier, interrupted deletion of the
// same email resolved but whose login mapping it already deleted: their
// HMACs are in that request's subject_hashes, so the id columns' values
// are hashed and compared (no identifier is sent to ClickHouse).
func (s *Service) recoverIDs(ctx context.Context, n *needles, schema map[string][]column) error {
	rows, err := s.o.Conn.Query(ctx, "SELECT DISTINCT arrayJoin(subject_hashes) FROM "+s.db+".privacy_requests WHERE kind = ? AND email_hash = ?",
		KindDeletion, s.h.Email(n.email))
	if err != nil {
		return fmt.Errorf("read earlier deletions: %w", err)
	}
	want := map[string]bool{}
	for rows.Next() {
		var h string
		if err := rows.Scan(&h); err != nil {
			rows.Close()
			return err
		}
		want[h] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	delete(want, s.h.Email(n.email))
	for _, id := range n.ids {
		delete(want, s.h.ID(id))
	}
	if len(want) == 0 {
		return nil
	}
	var found []string
	for _, t := range s.o.Registry.Tables() {
		if _, ok := schema[t.Name]; !ok {
			continue
		}
		for _, c := range slices.Concat(t.IDColumns, t.MentionIDColumns) {
			rows, err := s.o.Conn.Query(ctx, fmt.Sprintf("SELECT DISTINCT %s FROM %s.%s", quoteIdent(c), s.db, quoteIdent(t.Name)))
			if err != nil {
				return fmt.Errorf("recover user ids from %s: %w", t.Name, err)
			}
			for rows.Next() {
				var id string
				if err := rows.Scan(&id); err != nil {
					rows.Close()
					return err
				}
				if id != "" && want[s.h.ID(id)] {
					found = append(found, id)
					delete(want, s.h.ID(id))
				}
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
		}
	}
	sort.Strings(found)
	return n.addIDs(ctx, found)
}

// dropTemp drops a request's temporary table.
func (s *Service) dropTemp(ctx context.Context, table string) {
	if err := s.o.Conn.Exec(ctx, "DROP TABLE IF EXISTS "+s.db+".`"+table+"`"); err != nil {
		s.log.Warn("privacy: drop request table", "table", table, "err", err)
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return "{}"
	}
	return string(b)
}
