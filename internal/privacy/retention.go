package privacy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/prometheus/client_golang/prometheus"
)

// RetentionTable says how a table's rows age: TimeColumn (DateTime or
// Date) is the row's age, Monthly that the table is partitioned by
// toYYYYMM of it (partition 0, as risk_events' unparsable times, is not a
// month), so whole months past the age are dropped.
type RetentionTable struct {
	Name       string
	TimeColumn string
	Monthly    bool
	// AgeOf is the retention key whose age applies, when it is another
	// table's (an index goes with its table); empty: Name.
	AgeOf string
}

func (t RetentionTable) ageKey() string {
	if t.AgeOf != "" {
		return t.AgeOf
	}
	return t.Name
}

// RetentionTables are the tables retention knows. A table of a later
// migration adds its entry here.
var RetentionTables = []RetentionTable{
	{Name: "risk_events", TimeColumn: "published", Monthly: true},
	{Name: "risk_event_subjects", TimeColumn: "published", Monthly: true, AgeOf: "risk_events"},
	{Name: "attack_factor_updates", TimeColumn: "updated_at", Monthly: true},
	{Name: "dead_letters", TimeColumn: "received_at"},
	{Name: "event_type_counts", TimeColumn: "day", Monthly: true},
	{Name: "org_attack_activity", TimeColumn: "bucket", Monthly: true},
	{Name: "notifications", TimeColumn: "created_at"},
	{Name: "response_actions", TimeColumn: "created_at"},
	{Name: "privacy_requests", TimeColumn: "started_at", Monthly: true},
}

// RetentionOptions configure a Retention.
type RetentionOptions struct {
	Conn     driver.Conn
	Database string
	// Ages is config retention: table → age (0 or absent: forever).
	Ages map[string]time.Duration
	// Every is the period of enforcement (default 24h); After waits for
	// it (default time.After) and Now is the clock: tests inject both.
	Every        time.Duration
	After        func(time.Duration) <-chan time.Time
	Now          func() time.Time
	PollInterval time.Duration // mutation polling, default 200ms
	Registerer   prometheus.Registerer
	Logger       *slog.Logger
}

// Retention deletes rows older than their table's age.
type Retention struct {
	o          RetentionOptions
	db         string
	rows       *prometheus.CounterVec
	partitions *prometheus.CounterVec
	oldest     *prometheus.GaugeVec
}

// NewRetention builds a Retention; Run enforces it.
func NewRetention(o RetentionOptions) (*Retention, error) {
	if o.Conn == nil || !identRE.MatchString(o.Database) {
		return nil, errors.New("retention: no connection or bad database name")
	}
	if o.Every <= 0 {
		o.Every = 24 * time.Hour
	}
	if o.After == nil {
		o.After = time.After
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 200 * time.Millisecond
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	r := &Retention{o: o, db: "`" + o.Database + "`",
		rows: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "riskpipe_retention_rows_removed_total",
			Help: "Rows removed by retention (dropped partitions' rows and deleted rows), by table."}, []string{"table"}),
		partitions: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "riskpipe_retention_partitions_dropped_total",
			Help: "Monthly partitions dropped by retention, by table."}, []string{"table"}),
		oldest: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "riskpipe_retention_oldest_row_timestamp_seconds",
			Help: "Time of the oldest row kept, by table with a retention (0: empty)."}, []string{"table"}),
	}
	if o.Registerer != nil {
		if err := registerAll(o.Registerer, r.rows, r.partitions, r.oldest); err != nil {
			return nil, err
		}
	}
	return r, nil
}

func registerAll(reg prometheus.Registerer, cs ...prometheus.Collector) error {
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// Run enforces retention now and then every Every until ctx ends.
func (r *Retention) Run(ctx context.Context) error {
	if len(r.active()) == 0 {
		<-ctx.Done()
		return nil
	}
	for {
		if _, err := r.Enforce(ctx); err != nil && ctx.Err() == nil {
			r.o.Logger.Warn("retention failed; retried at the next run", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-r.o.After(r.o.Every):
		}
	}
}

func (r *Retention) active() []RetentionTable {
	var out []RetentionTable
	for _, t := range RetentionTables {
		if r.o.Ages[t.ageKey()] > 0 {
			out = append(out, t)
		}
	}
	return out
}

// TableReport is what one enforcement did to a table.
type TableReport struct {
	Table             string
	PartitionsDropped int
	RowsRemoved       uint64
	Oldest            time.Time // oldest row kept (zero: empty)
	Skipped           string    // why nothing was done (no such table or column)
}

// Enforce removes, from every table with an age, the rows older than
// now - age: whole monthly partitions past it are dropped, older rows left
// in other partitions deleted by a mutation (waited for).
func (r *Retention) Enforce(ctx context.Context) ([]TableReport, error) {
	now := r.o.Now().UTC()
	var out []TableReport
	var errs []error
	for _, t := range r.active() {
		rep, err := r.table(ctx, t, now.Add(-r.o.Ages[t.ageKey()]))
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", t.Name, err))
			continue
		}
		out = append(out, rep)
		if rep.Skipped != "" {
			continue
		}
		r.rows.WithLabelValues(t.Name).Add(float64(rep.RowsRemoved))
		r.partitions.WithLabelValues(t.Name).Add(float64(rep.PartitionsDropped))
		if rep.Oldest.IsZero() {
			r.oldest.WithLabelValues(t.Name).Set(0)
		} else {
			r.oldest.WithLabelValues(t.Name).Set(float64(rep.Oldest.Unix()))
		}
		if rep.RowsRemoved > 0 {
			r.o.Logger.Info("retention removed rows", "table", t.Name, "rows", rep.RowsRemoved, "partitions", rep.PartitionsDropped)
		}
	}
	return out, errors.Join(errs...)
}

func (r *Retention) table(ctx context.Context, t RetentionTable, cutoff time.Time) (TableReport, error) {
	rep := TableReport{Table: t.Name}
	var n uint64
	if err := r.o.Conn.QueryRow(ctx, "SELECT count() FROM system.columns WHERE database = ? AND table = ? AND name = ?",
		r.o.Database, t.Name, t.TimeColumn).Scan(&n); err != nil {
		return rep, err
	}
	if n == 0 {
		rep.Skipped = "no such table or time column"
		return rep, nil
	}
	tbl := r.db + "." + quoteIdent(t.Name)
	age := fmt.Sprintf("toUInt32(toDateTime(%s))", quoteIdent(t.TimeColumn))
	limit := strconv.FormatInt(max(cutoff.Unix(), 0), 10)
	if t.Monthly {
		parts, err := r.partitionRows(ctx, t.Name)
		if err != nil {
			return rep, err
		}
		ids := make([]string, 0, len(parts))
		for id := range parts {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		for _, id := range ids {
			end, ok := monthEnd(id)
			if !ok || end.After(cutoff) {
				continue
			}
			if err := r.o.Conn.Exec(ctx, fmt.Sprintf("ALTER TABLE %s DROP PARTITION ID '%s'", tbl, id)); err != nil {
				return rep, fmt.Errorf("drop partition %s: %w", id, err)
			}
			rep.PartitionsDropped++
			rep.RowsRemoved += parts[id]
		}
	}
	var older uint64
	if err := r.o.Conn.QueryRow(ctx, fmt.Sprintf("SELECT count() FROM %s WHERE %s < %s", tbl, age, limit)).Scan(&older); err != nil {
		return rep, err
	}
	if older > 0 {
		q := fmt.Sprintf("ALTER TABLE %s DELETE WHERE %s < %s", tbl, age, limit)
		if err := r.o.Conn.Exec(ctx, q); err != nil {
			return rep, fmt.Errorf("delete old rows: %w", err)
		}
		if err := r.waitMutations(ctx, t.Name); err != nil {
			return rep, err
		}
		rep.RowsRemoved += older
	}
	var oldest uint32
	var rows uint64
	if err := r.o.Conn.QueryRow(ctx, fmt.Sprintf("SELECT count(), min(toUInt32(toDateTime(%s))) FROM %s", quoteIdent(t.TimeColumn), tbl)).Scan(&rows, &oldest); err != nil {
		return rep, err
	}
	if rows > 0 {
		rep.Oldest = time.Unix(int64(oldest), 0).UTC()
	}
	return rep, nil
}

// partitionRows maps the partition ids of the table's active parts to
// their rows.
func (r *Retention) partitionRows(ctx context.Context, table string) (map[string]uint64, error) {
	rows, err := r.o.Conn.Query(ctx, "SELECT name, rows FROM system.parts WHERE database = ? AND table = ? AND active", r.o.Database, table)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]uint64{}
	for rows.Next() {
		var name string
		var n uint64
		if err := rows.Scan(&name, &n); err != nil {
			return nil, err
		}
		id, _, _ := strings.Cut(name, "_")
		out[id] += n
	}
	return out, rows.Err()
}

// monthEnd is the start of the month after partition id YYYYMM.
func monthEnd(id string) (time.Time, bool) {
	if len(id) != 6 {
		return time.Time{}, false
	}
	v, err := strconv.Atoi(id)
	if err != nil || v%100 < 1 || v%100 > 12 {
		return time.Time{}, false
	}
	return time.Date(v/100, time.Month(v%100)+1, 1, 0, 0, 0, 0, time.UTC), true
}

func (r *Retention) waitMutations(ctx context.Context, table string) error {
	for {
		var pending uint64
		if err := r.o.Conn.QueryRow(ctx, "SELECT count() FROM system.mutations WHERE database = ? AND table = ? AND is_done = 0",
			r.o.Database, table).Scan(&pending); err != nil {
			return err
		}
		if pending == 0 {
			return nil
		}
		if err := sleep(ctx, r.o.PollInterval); err != nil {
			return err
		}
	}
}
