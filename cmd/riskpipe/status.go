package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/riskpipe/riskpipe/internal/api"
	"github.com/riskpipe/riskpipe/internal/app"
	"github.com/riskpipe/riskpipe/internal/config"
	"github.com/riskpipe/riskpipe/internal/notify"
	"github.com/riskpipe/riskpipe/internal/poll"
	"github.com/riskpipe/riskpipe/internal/store"
)

// pollerStatusSchema is the schema version that added poller_status
// (schema/003_poller_status.sql).
const pollerStatusSchema = 3

// orgStatus is one configured org as `riskpipe status --json` prints it:
// the fields of GET /api/v1/orgs (judged by the same rule, api.NewOrg),
// read from ClickHouse instead of the pollers' memory, plus what only
// ClickHouse knows.
type orgStatus struct {
	api.Org
	// CursorUpdatedAt is when the tenant's cursor was last stored
	// (poll_state.updated_at: every successful poll).
	CursorUpdatedAt  *time.Time `json:"cursor_updated_at"`
	CursorAgeSeconds *float64   `json:"cursor_age_seconds"`
	// KeptToday counts the distinct kept events published today (UTC).
	KeptToday uint64 `json:"kept_today"`
	// StatusUpdatedAt is when riskpipe run last wrote the poller's status
	// (poller_status.updated_at, every 15 s while it runs);
	// ProcessStartedAt is when that process started.
	StatusUpdatedAt  *time.Time `json:"status_updated_at"`
	ProcessStartedAt *time.Time `json:"process_started_at"`
}

// statusReport is the answer of `riskpipe status --json`.
type statusReport struct {
	Now      time.Time   `json:"now"`
	Database string      `json:"database"`
	Orgs     []orgStatus `json:"orgs"`
	// ConfigReload is the outcome of the last configuration reload of the
	// riskpipe run at http.listen (GET /-/reload); absent when none
	// answers.
	ConfigReload *app.ReloadStatus `json:"config_reload,omitempty"`
	// DeliveryProblems are the notifications of the last 24h that failed
	// or wait for a retry.
	DeliveryProblems []notify.Row `json:"delivery_problems"`
}

func cmdStatus(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("status", "--config FILE [--json]", stdout)
	cfgPath := fs.String("config", "", "path to the YAML config (required)")
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	timeout := fs.Duration("timeout", 30*time.Second, "time allowed for reading ClickHouse")
	if err := parse(fs, args); err != nil {
		return err
	}
	// status reads ClickHouse only: no API token or Okta credential needed.
	cfg, err := loadConfigWithoutCredentials(*cfgPath)
	if err != nil {
		return err
	}
	if err := cfg.RequireTenants(); err != nil {
		return usageError{err}
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	st, err := store.Open(ctx, cfg.ClickHouse, newLogger(io.Discard, "text", "error"))
	if err != nil {
		return fmt.Errorf("open clickhouse at %s: %w", cfg.ClickHouse.Addr, err)
	}
	defer st.Close()
	rep, notes, err := readStatus(ctx, st, cfg, time.Now().UTC())
	if err != nil {
		return err
	}
	for _, n := range notes {
		fmt.Fprintf(stderr, "riskpipe status: %s\n", n)
	}
	rep.ConfigReload = readReloadStatus(ctx, cfg)
	readPermissions(ctx, cfg, &rep)
	if rep.DeliveryProblems, err = deliveryProblems(ctx, st, rep.Now); err != nil {
		return err
	}
	if rep.DeliveryProblems == nil {
		rep.DeliveryProblems = []notify.Row{}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	if err := printStatus(stdout, rep); err != nil {
		return err
	}
	printFeatureStatus(stdout, rep)
	printReloadStatus(stdout, rep.ConfigReload)
	printDeliveryProblems(stdout, rep.DeliveryProblems)
	return nil
}

// readStatus reads every configured tenant's status from ClickHouse:
// poll_state, poller_status and today's kept events. notes say what could
// not be read.
func readStatus(ctx context.Context, st *store.Store, cfg *config.Config, now time.Time) (statusReport, []string, error) {
	rep := statusReport{Now: now, Database: st.Database(), Orgs: []orgStatus{}}
	cur, _, err := st.SchemaVersion(ctx)
	if err != nil {
		return rep, nil, err
	}
	if cur == 0 {
		return rep, nil, fmt.Errorf("database %s holds no riskpipe tables: run 'riskpipe migrate' (or 'riskpipe run')", st.Database())
	}
	var notes []string
	states, err := st.LoadAllPollStates(ctx)
	if err != nil {
		return rep, nil, err
	}
	cursors := map[string]store.PollState{}
	for _, s := range states {
		cursors[s.Tenant] = s
	}
	beats := map[string]store.PollerStatus{}
	if cur >= pollerStatusSchema {
		rows, err := st.LoadPollerStatuses(ctx)
		if err != nil {
			return rep, nil, err
		}
		for _, s := range rows {
			beats[s.Tenant] = s
		}
	} else {
		notes = append(notes, fmt.Sprintf("schema at version %d has no poller_status: states, last polls, lag and errors "+
			"are unknown until 'riskpipe migrate' and a riskpipe run that writes them", cur))
	}
	midnight := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC) // now is UTC
	kept, err := st.KeptSince(ctx, midnight)
	if err != nil {
		return rep, nil, err
	}

	tenants := slices.Clone(cfg.Tenants)
	slices.SortFunc(tenants, func(a, b config.Tenant) int { return cmp.Compare(a.Name, b.Name) })
	for _, t := range tenants {
		b, ran := beats[t.Name]
		c, stored := cursors[t.Name]
		// The cursor is stored after every successful poll; the heartbeat
		// row can be up to an interval older.
		if ran && c.UpdatedAt.After(b.LastPoll) {
			b.LastPoll = c.UpdatedAt
		}
		if ran && c.UpdatedAt.After(b.LastSuccess) {
			b.LastSuccess = c.UpdatedAt
		}
		ps := poll.Status{
			Tenant: t.Name, State: poll.State(b.State), IntegratedAt: b.IntegratedAt, LastPoll: b.LastPoll,
			LastSuccess: b.LastSuccess, LastCursorAdvance: b.LastCursorAdvance, NewestPublished: b.NewestPublished,
			LastError: b.LastError, ConsecutiveFailures: b.ConsecutiveFailures, EventsPolled: b.EventsPolled,
			EventsKept: b.EventsKept,
		}
		o := orgStatus{
			Org:       api.NewOrg(t.Name, t.Description, t.IsEnabled(), ps, ran, b.StartedAt, now, cfg.API.StallAfter),
			KeptToday: kept[t.Name],
		}
		if stored {
			if o.IntegratedAt == nil && !c.IntegratedAt.IsZero() {
				o.IntegratedAt = &c.IntegratedAt
			}
			if !c.UpdatedAt.IsZero() {
				o.CursorUpdatedAt = &c.UpdatedAt
				age := max(0, now.Sub(c.UpdatedAt).Seconds())
				o.CursorAgeSeconds = &age
			}
		}
		if ran {
			o.StatusUpdatedAt, o.ProcessStartedAt = nonZero(b.UpdatedAt), nonZero(b.StartedAt)
		}
		rep.Orgs = append(rep.Orgs, o)
	}
	return rep, notes, nil
}

// printStatus prints rep as a table, one org a line.
func printStatus(w io.Writer, rep statusReport) error {
	fmt.Fprintf(w, "database %s at %s UTC\n\n", rep.Database, rep.Now.Format(time.DateTime))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TENANT\tSTATE\tINTEGRATED (UTC)\tCURSOR AGE\tLAST POLL\tLAG\tKEPT TODAY\tERRORS\tLAST ERROR")
	var stalled []string
	for _, o := range rep.Orgs {
		state := o.State
		if o.Stalled {
			state = "stalled"
			stalled = append(stalled, o.Tenant)
		}
		integrated, lastPoll := "-", "-"
		if o.IntegratedAt != nil {
			integrated = o.IntegratedAt.UTC().Format(time.DateTime)
		}
		if o.LastPoll != nil {
			lastPoll = human(rep.Now.Sub(*o.LastPoll)) + " ago"
		}
		lastErr := "-"
		if o.LastError != "" {
			lastErr = truncate(strings.Join(strings.Fields(o.LastError), " "), 80)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%s\n", o.Tenant, state, integrated,
			seconds(o.CursorAgeSeconds), lastPoll, seconds(o.LagSeconds), o.KeptToday, o.ConsecutiveFailures, lastErr)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(stalled) > 0 && len(rep.Orgs) > 0 {
		fmt.Fprintf(w, "\nstalled: %s (nothing received for more than %s)\n", strings.Join(stalled, ", "),
			human(time.Duration(rep.Orgs[0].StallAfterSeconds*float64(time.Second))))
	}
	return nil
}

func nonZero(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func seconds(s *float64) string {
	if s == nil {
		return "-"
	}
	return human(time.Duration(*s * float64(time.Second)))
}

// human formats a duration for the table: 42s, 3m07s, 5h12m, 3d04h.
func human(d time.Duration) string {
	d = max(0, d.Round(time.Second))
	s := int64(d / time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", s)
	case d < time.Hour:
		return trimZero(fmt.Sprintf("%dm%02ds", s/60, s%60), "00s")
	case d < 48*time.Hour:
		return trimZero(fmt.Sprintf("%dh%02dm", s/3600, s%3600/60), "00m")
	default:
		return trimZero(fmt.Sprintf("%dd%02dh", s/86400, s%86400/3600), "00h")
	}
}

func trimZero(s, zero string) string { return strings.TrimSuffix(s, zero) }

func truncate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
