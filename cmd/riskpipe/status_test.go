package main

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/chtest"
	"github.com/riskpipe/riskpipe/internal/event"
	"github.com/riskpipe/riskpipe/internal/simtest"
	"github.com/riskpipe/riskpipe/internal/store"
)

// statusEvents are n kept events of tenant published at the given times.
func statusEvents(tenant string, at ...time.Time) []event.Event {
	out := make([]event.Event, len(at))
	for i, t := range at {
		out[i] = event.Event{
			ID: fmt.Sprintf("%s-evt-%d-%d", tenant, t.Unix(), i), Published: t, EventType: "user.risk.detect",
			Category: event.CategoryUserRisk, UserID: "00u1", UserLogin: "alice@example.com", Raw: []byte(`{}`),
		}
	}
	return out
}

// statusTable splits the table `riskpipe status` prints into its rows
// (cells are separated by two spaces or more), by tenant.
func statusTable(t *testing.T, out string) (header []string, rows map[string][]string) {
	t.Helper()
	sep := regexp.MustCompile(`\s{2,}`)
	rows = map[string][]string{}
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "TENANT") {
			header = sep.Split(strings.TrimSpace(line), -1)
			continue
		}
		if header == nil || strings.TrimSpace(line) == "" {
			continue
		}
		cells := sep.Split(strings.TrimSpace(line), -1)
		if len(cells) != len(header) {
			break // past the table
		}
		rows[cells[0]] = cells
	}
	require.NotNil(t, header, "no table in:\n%s", out)
	return header, rows
}

// `riskpipe status` shows every configured org from what ClickHouse holds:
// acme healthy, globex stalled (by the configured api.stall_after), initech
// disabled, umbrella known only by the poll_state an older riskpipe left.
func TestStatus(t *testing.T) {
	t.Parallel()
	srv := chtest.Start(t)
	db := chtest.NewDatabase(t, srv)
	st := simtest.OpenStore(t, chtest.Config(srv, db))
	ctx := context.Background()
	require.NoError(t, st.Migrate(ctx))

	now := time.Now().UTC().Truncate(time.Second)
	midnight := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	yesterday := midnight.Add(-time.Hour)
	acmeIntegrated := now.Add(-2 * time.Hour)
	globexIntegrated := now.Add(-5 * time.Hour)
	umbrellaIntegrated := now.Add(-30 * 24 * time.Hour)

	w := store.NewWriter(st, store.WriterOptions{})
	wctx, stopWriter := context.WithCancel(ctx)
	writerDone := make(chan error, 1)
	go func() { writerDone <- w.Run(wctx) }()
	acmeToday := statusEvents("acme", midnight, midnight.Add(time.Second), midnight.Add(2*time.Second))
	for _, b := range []store.Batch{
		{Tenant: "acme", Events: append(acmeToday, statusEvents("acme", yesterday, yesterday.Add(time.Second))...),
			State: &store.PollState{IntegratedAt: acmeIntegrated, Cursor: "https://acme.example/api/v1/logs?after=1", UpdatedAt: now.Add(-3 * time.Second)}},
		{Tenant: "acme", Events: acmeToday[:1]}, // a replay counts once
		{Tenant: "globex", Events: statusEvents("globex", midnight.Add(time.Minute)),
			State: &store.PollState{IntegratedAt: globexIntegrated, Cursor: "https://globex.example/api/v1/logs?after=1", UpdatedAt: now.Add(-45 * time.Minute)}},
		{Tenant: "umbrella", State: &store.PollState{IntegratedAt: umbrellaIntegrated, Cursor: "https://umbrella.example/x", UpdatedAt: now.Add(-26 * time.Hour)}},
	} {
		require.NoError(t, w.Write(ctx, b))
	}
	stopWriter()
	require.NoError(t, <-writerDone)

	const authErr = "okta: 401 E0000011: Invalid token provided"
	require.NoError(t, st.WriteStatuses(ctx, []store.PollerStatus{
		{Tenant: "acme", State: "polling", IntegratedAt: acmeIntegrated, StartedAt: now.Add(-time.Hour), UpdatedAt: now.Add(-15 * time.Second)},
		{
			Tenant: "acme", State: "caught_up", IntegratedAt: acmeIntegrated, LastPoll: now.Add(-3 * time.Second),
			LastSuccess: now.Add(-3 * time.Second), LastCursorAdvance: now.Add(-10 * time.Second),
			NewestPublished: now.Add(-20 * time.Second), EventsPolled: 5000, EventsKept: 40,
			StartedAt: now.Add(-time.Hour), UpdatedAt: now,
		},
		{
			// Received nothing for 45 minutes: stalled with stall_after 30m
			// (not with the default 1h).
			Tenant: "globex", State: "auth_error", IntegratedAt: globexIntegrated, LastPoll: now.Add(-30 * time.Second),
			LastSuccess: now.Add(-45 * time.Minute), LastCursorAdvance: now.Add(-45 * time.Minute),
			NewestPublished: now.Add(-46 * time.Minute), LastError: authErr, ConsecutiveFailures: 7,
			EventsPolled: 800, EventsKept: 1, StartedAt: now.Add(-4 * time.Hour), UpdatedAt: now,
		},
	}))

	spec := cfgSpec{addr: srv.Addr(), db: db, tenants: []tenantSpec{
		{name: "globex", baseURL: "https://globex.okta.com", method: "api_token", token: secretToken("globex")},
		{name: "acme", baseURL: "https://acme.okta.com", method: "api_token", token: secretToken("acme")},
		{name: "initech", baseURL: "https://initech.okta.com", method: "api_token", token: secretToken("initech"), extra: "    enabled: false\n"},
		{name: "umbrella", baseURL: "https://umbrella.okta.com", method: "api_token", token: secretToken("umbrella")},
	}}
	cfg := writeFile(t, "riskpipe.yaml", spec.yaml()+"api:\n  stall_after: 30m\n")

	// The table.
	r := runCLI(ctx, "status", "--config", cfg)
	require.Equal(t, exitOK, r.code, "%s", r)
	require.Empty(t, r.stderr, "%s", r)
	requireNoSecret(t, r)
	t.Logf("riskpipe status:\n%s", r.stdout)
	require.Contains(t, r.stdout, "database "+db+" at ")
	header, rows := statusTable(t, r.stdout)
	require.Equal(t, []string{"TENANT", "STATE", "INTEGRATED (UTC)", "CURSOR AGE", "LAST POLL", "LAG", "KEPT TODAY", "ERRORS", "LAST ERROR"}, header)
	require.Len(t, rows, 4, "every configured org, and only those:\n%s", r.stdout)
	cells := func(tenant string) map[string]string {
		row, ok := rows[tenant]
		require.True(t, ok, "no row for %s:\n%s", tenant, r.stdout)
		m := map[string]string{}
		for i, h := range header {
			m[h] = row[i]
		}
		return m
	}
	fmtTime := func(t time.Time) string { return t.Format("2006-01-02 15:04:05") }
	secs := regexp.MustCompile(`^\d+s$`)

	acme := cells("acme")
	require.Equal(t, "caught_up", acme["STATE"], "the latest status row wins")
	require.Equal(t, fmtTime(acmeIntegrated), acme["INTEGRATED (UTC)"])
	require.Regexp(t, secs, acme["CURSOR AGE"])
	require.Regexp(t, `^\d+s ago$`, acme["LAST POLL"])
	require.Regexp(t, secs, acme["LAG"])
	require.Equal(t, "3", acme["KEPT TODAY"], "today's events once each; yesterday's not")
	require.Equal(t, "0", acme["ERRORS"])
	require.Equal(t, "-", acme["LAST ERROR"])

	globex := cells("globex")
	require.Equal(t, "stalled", globex["STATE"])
	require.Equal(t, fmtTime(globexIntegrated), globex["INTEGRATED (UTC)"])
	require.Regexp(t, `^45m(\d\ds)?$`, globex["CURSOR AGE"])
	require.Regexp(t, `^\d+s ago$`, globex["LAST POLL"])
	require.Regexp(t, `^46m(\d\ds)?$`, globex["LAG"])
	require.Equal(t, "1", globex["KEPT TODAY"])
	require.Equal(t, "7", globex["ERRORS"])
	require.Equal(t, authErr, globex["LAST ERROR"])

	require.Equal(t, map[string]string{"TENANT": "initech", "STATE": "disabled", "INTEGRATED (UTC)": "-", "CURSOR AGE": "-",
		"LAST POLL": "-", "LAG": "-", "KEPT TODAY": "0", "ERRORS": "0", "LAST ERROR": "-"}, cells("initech"))
	require.Equal(t, map[string]string{"TENANT": "umbrella", "STATE": "unknown", "INTEGRATED (UTC)": fmtTime(umbrellaIntegrated),
		"CURSOR AGE": "26h", "LAST POLL": "-", "LAG": "-", "KEPT TODAY": "0", "ERRORS": "0", "LAST ERROR": "-"}, cells("umbrella"))
	require.Contains(t, r.stdout, "\nstalled: globex (nothing received for more than 30m)\n")

	// --json: the fields of /api/v1/orgs plus cursor, kept today and
	// heartbeat times.
	r = runCLI(ctx, "status", "--config", cfg, "--json")
	require.Equal(t, exitOK, r.code, "%s", r)
	require.Empty(t, r.stderr, "%s", r)
	var rep statusReport
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &rep), r.stdout)
	require.Equal(t, db, rep.Database)
	require.WithinDuration(t, time.Now(), rep.Now, time.Hour)
	require.Len(t, rep.Orgs, 4)
	byTenant := map[string]orgStatus{}
	var order []string
	for _, o := range rep.Orgs {
		byTenant[o.Tenant] = o
		order = append(order, o.Tenant)
		require.EqualValues(t, 1800, o.StallAfterSeconds, o.Tenant)
	}
	require.Equal(t, []string{"acme", "globex", "initech", "umbrella"}, order)

	a := byTenant["acme"]
	require.True(t, a.Enabled)
	require.False(t, a.Stalled)
	require.Equal(t, "caught_up", a.State)
	require.Equal(t, acmeIntegrated, a.IntegratedAt.UTC())
	require.Equal(t, now.Add(-10*time.Second), a.LastReceived.UTC(), "last received: the last cursor advance")
	require.Equal(t, now.Add(-3*time.Second), a.LastPoll.UTC())
	require.Equal(t, now.Add(-3*time.Second), a.CursorUpdatedAt.UTC())
	require.NotNil(t, a.CursorAgeSeconds)
	require.GreaterOrEqual(t, *a.CursorAgeSeconds, 3.0)
	require.NotNil(t, a.LagSeconds)
	require.GreaterOrEqual(t, *a.LagSeconds, 20.0)
	require.EqualValues(t, 3, a.KeptToday)
	require.EqualValues(t, 5000, a.EventsPolled)
	require.EqualValues(t, 40, a.EventsKept)
	require.Equal(t, now, a.StatusUpdatedAt.UTC())
	require.Equal(t, now.Add(-time.Hour), a.ProcessStartedAt.UTC())

	g := byTenant["globex"]
	require.True(t, g.Stalled)
	require.Equal(t, "auth_error", g.State, "the JSON keeps the poller's state next to stalled")
	require.Equal(t, authErr, g.LastError)
	require.Equal(t, 7, g.ConsecutiveFailures)
	require.Equal(t, now.Add(-45*time.Minute), g.LastReceived.UTC())
	require.EqualValues(t, 1, g.KeptToday)

	i := byTenant["initech"]
	require.False(t, i.Enabled)
	require.False(t, i.Stalled)
	require.Equal(t, "disabled", i.State)
	require.Nil(t, i.IntegratedAt)

	u := byTenant["umbrella"]
	require.Equal(t, "unknown", u.State)
	require.False(t, u.Stalled, "no heartbeat: nothing to judge")
	require.Equal(t, umbrellaIntegrated, u.IntegratedAt.UTC())
	require.Nil(t, u.StatusUpdatedAt)
	require.Nil(t, u.LastPoll)

	// The JSON names are the API's.
	var raw struct{ Orgs []map[string]any }
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &raw))
	for _, k := range []string{"tenant", "state", "stalled", "stall_after_seconds", "integrated_at", "last_poll", "last_received",
		"lag_seconds", "last_error", "consecutive_failures", "events_polled", "events_kept", "kept_today",
		"cursor_updated_at", "cursor_age_seconds", "status_updated_at", "process_started_at"} {
		require.Contains(t, raw.Orgs[0], k)
	}
}

func TestStatusExitCodes(t *testing.T) {
	t.Parallel()
	srv := chtest.Start(t)
	tenants := []tenantSpec{{name: "acme", baseURL: "https://acme.okta.com", method: "api_token", token: secretToken("acme")}}
	unmigrated := writeConfig(t, cfgSpec{addr: srv.Addr(), db: chtest.NewDatabase(t, srv), tenants: tenants})
	unreachable := writeConfig(t, cfgSpec{addr: "127.0.0.1:1", db: "okta_risk", tenants: tenants})
	noTenants := writeFile(t, "no-tenants.yaml", "clickhouse:\n  addr: "+srv.Addr()+"\n")
	badConfig := writeFile(t, "bad.yaml", "clickhouse:\n  adr: x\n")
	tests := []struct {
		name       string
		give       []string
		wantCode   int
		wantStderr string
	}{
		{name: "clickhouse unreachable", give: []string{"--config", unreachable}, wantCode: exitRuntime,
			wantStderr: "riskpipe status: open clickhouse at 127.0.0.1:1"},
		{name: "clickhouse unreachable json", give: []string{"--config", unreachable, "--json"}, wantCode: exitRuntime,
			wantStderr: "riskpipe status: open clickhouse at 127.0.0.1:1"},
		{name: "database not migrated", give: []string{"--config", unmigrated}, wantCode: exitRuntime,
			wantStderr: "run 'riskpipe migrate'"},
		{name: "no config", give: nil, wantCode: exitUsage, wantStderr: "riskpipe status: --config is required"},
		{name: "invalid config", give: []string{"--config", badConfig}, wantCode: exitUsage, wantStderr: "clickhouse.adr"},
		{name: "no tenants", give: []string{"--config", noTenants}, wantCode: exitUsage, wantStderr: "tenants: no tenant configured"},
		{name: "unknown flag", give: []string{"--config", unmigrated, "--yaml"}, wantCode: exitUsage,
			wantStderr: "flag provided but not defined: -yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := runCLI(context.Background(), append([]string{"status"}, tt.give...)...)
			require.Equal(t, tt.wantCode, r.code, "%s", r)
			require.Contains(t, r.stderr, tt.wantStderr, "%s", r)
			require.Empty(t, r.stdout, "%s", r)
			requireNoSecret(t, r)
		})
	}
}

func TestHuman(t *testing.T) {
	t.Parallel()
	tests := []struct {
		give time.Duration
		want string
	}{
		{give: -time.Second, want: "0s"},
		{give: 0, want: "0s"},
		{give: 1499 * time.Millisecond, want: "1s"},
		{give: 59 * time.Second, want: "59s"},
		{give: time.Minute, want: "1m"},
		{give: 3*time.Minute + 7*time.Second, want: "3m07s"},
		{give: time.Hour, want: "1h"},
		{give: 5*time.Hour + 12*time.Minute + 30*time.Second, want: "5h12m"},
		{give: 47 * time.Hour, want: "47h"},
		{give: 48 * time.Hour, want: "2d"},
		{give: 76 * time.Hour, want: "3d04h"},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, human(tt.give), "%s", tt.give)
	}
}
