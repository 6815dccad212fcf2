package app

import (
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/config"
	"github.com/riskpipe/riskpipe/internal/oktasim"
	"github.com/riskpipe/riskpipe/internal/poll"
	"github.com/riskpipe/riskpipe/internal/simtest"
)

// reloadable lets a test hand the App the configuration its next reload
// reads.
type reloadable struct {
	next  atomic.Pointer[config.Config]
	err   atomic.Pointer[error]
	reads atomic.Int64
}

func (r *reloadable) set(c *config.Config) { r.next.Store(c); r.err.Store(nil) }
func (r *reloadable) fail(err error)       { r.err.Store(&err) }
func (r *reloadable) load() (*config.Config, error) {
	r.reads.Add(1)
	if e := r.err.Load(); e != nil {
		return nil, *e
	}
	return r.next.Load(), nil
}
func (r *reloadable) option(o *Options) { o.Reload = r.load }

// runner returns the poller and client of a running tenant (nil when it
// runs none).
func (r *running) runner(name string) *tenantRunner {
	r.app.mu.Lock()
	ts := r.app.tenants
	r.app.mu.Unlock()
	if ts == nil {
		return nil
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.runners[name]
}

// requests counts every answer the simulator gave an org.
func (h *harness) requests(name string) int64 {
	var n int64
	for _, c := range h.orgs[name].org.Stats().Requests {
		n += c
	}
	return n
}

func (h *harness) reload(t *testing.T, r *running, src *reloadable, cfg *config.Config) ReloadStatus {
	t.Helper()
	src.set(cfg)
	st := r.app.Reload(TriggerAPI)
	require.True(t, st.Successful, "reload refused: %s %v", st.Error, st.Problems)
	return st
}

// Reloads during ingestion add, remove, disable, re-enable, change and
// rotate tenants. Against the simulator's ground truth: nothing is lost
// or written twice for any tenant, a removed tenant's data is complete up
// to its stored cursor, an added tenant integrates at its start, and
// tenants a reload does not change are not interrupted: the same poller
// runs on and a quiet one makes not a single request more.
func TestReloadDuringIngestion(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil,
		orgSpec{name: "quiet"},
		orgSpec{name: "steady", eps: 40},
		orgSpec{name: "gone", eps: 40},
		orgSpec{name: "paused", eps: 40},
		orgSpec{name: "tuned", eps: 40},
		orgSpec{name: "rotated", eps: 40},
		orgSpec{name: "late", eps: 40},
	)
	quiet := h.tenant("quiet")
	quiet.Poll.Interval = time.Hour // one poll at start, then none for an hour
	tuned := h.tenant("tuned")
	rotated := h.tenant("rotated")
	paused := h.tenant("paused")
	off := false
	cfg0 := h.config(quiet, h.tenant("steady"), h.tenant("gone"), paused, tuned, rotated)

	src := &reloadable{}
	r := h.start(t, cfg0, func(s *poll.Settings) { s.MaxStartDelay = 20 * time.Millisecond }, src.option)
	integrated := map[string]time.Time{}
	for _, name := range []string{"quiet", "steady", "gone", "paused", "tuned", "rotated"} {
		integrated[name] = r.integrated(t, name)
	}
	for _, name := range []string{"steady", "gone", "paused", "tuned", "rotated"} {
		eventually(t, waitFor, func() bool { return len(h.kept(t, name)) >= 5 }, "tenant %s ingests", name)
	}
	eventually(t, waitFor, func() bool { s, _ := r.status("quiet"); return s.State == "caught_up" })
	quietRequests := h.requests("quiet")
	quietPoller, steadyPoller, rotatedPoller := r.runner("quiet").poller, r.runner("steady").poller, r.runner("rotated").poller
	rotatedSource := r.runner("rotated").src

	// Reload 1: gone removed, paused disabled, tuned polls slower,
	// rotated gets a new API token (the old one is revoked right after),
	// late is added.
	h.orgs["rotated"].org.AddToken("token-rotated-2", oktasimOwner())
	rotated.Auth.Token = "token-rotated-2"
	tuned.Poll.Interval = 300 * time.Millisecond
	paused.Enabled = &off
	beforeLate := time.Now().UTC().Truncate(time.Millisecond)
	st := h.reload(t, r, src, h.config(quiet, h.tenant("steady"), paused, tuned, rotated, h.tenant("late")))
	require.Contains(t, st.Changes, "added: late")
	require.Contains(t, st.Changes, "removed: gone")
	require.Contains(t, st.Changes, "disabled: paused")
	require.Contains(t, st.Changes, "restarted: tuned")
	require.Contains(t, st.Changes, "client: rotated")
	h.orgs["rotated"].org.RevokeToken("token-rotated")
	require.Nil(t, r.runner("gone"), "a removed tenant's poller is stopped when the reload returns")
	require.Nil(t, r.runner("paused"))
	goneState, ok := h.state(t, "gone")
	require.True(t, ok)
	integrated["late"] = r.integrated(t, "late")
	require.False(t, integrated["late"].Before(beforeLate), "an added tenant integrates when it is added")

	// More reloads while everything ingests: paused back on and off, tuned
	// back and forth, rotated rotated again.
	for i := range 6 {
		tuned.Poll.Interval = time.Duration(200+100*(i%2)) * time.Millisecond
		if i%2 == 0 {
			paused.Enabled = nil
		} else {
			paused.Enabled = &off
		}
		if i == 3 {
			h.orgs["rotated"].org.AddToken("token-rotated-3", oktasimOwner())
			rotated.Auth.Token = "token-rotated-3"
		}
		h.reload(t, r, src, h.config(quiet, h.tenant("steady"), paused, tuned, rotated, h.tenant("late")))
		if i == 3 {
			h.orgs["rotated"].org.RevokeToken("token-rotated-2")
		}
		time.Sleep(150 * time.Millisecond) // let some pages through between reloads
	}
	paused.Enabled = nil
	h.reload(t, r, src, h.config(quiet, h.tenant("steady"), paused, tuned, rotated, h.tenant("late")))

	// Stop the orgs and let every tenant catch up.
	for _, o := range h.orgs {
		if o.stream != nil && o.name != "quiet" {
			o.org.SetRate(0)
		}
	}
	for _, name := range []string{"steady", "paused", "tuned", "rotated", "late"} {
		h.converged(t, name, h.want(t, name, integrated[name]), waitFor)
	}

	// Unchanged tenants were never interrupted.
	require.Same(t, quietPoller, r.runner("quiet").poller, "quiet kept its poller")
	require.Same(t, steadyPoller, r.runner("steady").poller, "steady kept its poller")
	require.Equal(t, quietRequests, h.requests("quiet"), "quiet made no request because of the reloads")
	// Rotation swapped the client under the same poller.
	require.Same(t, rotatedPoller, r.runner("rotated").poller, "a rotated credential does not restart the poller")
	require.Same(t, rotatedSource, r.runner("rotated").src)
	s, _ := r.status("rotated")
	require.NotEqual(t, "auth_error", s.State)

	// The removed tenant: everything before its stored cursor, nothing
	// twice, nothing after.
	want := h.want(t, "gone", integrated["gone"])
	got := h.kept(t, "gone")
	cut := cursorIndex(t, goneState.Cursor)
	o := h.orgs["gone"].org
	for i := int64(0); i < cut; i++ {
		ev, _, ok := o.EventAt(i)
		require.True(t, ok)
		if cat, keep := want[ev.ID]; keep {
			require.Equal(t, cat, got[ev.ID], "gone: event %d (%s) before the stored cursor", i, ev.ID)
		}
	}
	for id := range got {
		require.Contains(t, want, id)
	}
	stored := simtest.Stored(t, h.read, "gone")
	require.Equal(t, stored.Rows, stored.Unique)
	later, _ := h.state(t, "gone")
	require.Equal(t, goneState.Cursor, later.Cursor, "nothing polls a removed tenant")
	r.stop(t)
}

// oktasimOwner is a rotated token's creator: a Super Administrator, as
// the harness's tokens.
func oktasimOwner() oktasim.TokenOwner { return oktasim.TokenOwner{} }

// Invalid files and unsafe changes are refused whole: the running
// configuration stays, the metrics, GET /-/reload and /readyz say why,
// and POST /-/reload needs the admin role.
func TestReloadRefused(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil, orgSpec{name: "acme", eps: 20})
	cfg := h.config()
	cfg.API.Tokens = []config.APIToken{
		{Name: "ops", Token: "ops-token-0123456789", Tenants: []string{"*"}, Roles: []config.Role{config.RoleAdmin}},
		{Name: "reader", Token: "reader-token-0123456789", Tenants: []string{"*"}, Roles: []config.Role{config.RoleRead}},
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	src := &reloadable{}
	r := h.start(t, cfg, nil, src.option, func(o *Options) { o.Listener = ln })
	base := "http://" + ln.Addr().String()
	r.integrated(t, "acme")
	eventually(t, waitFor, func() bool { return len(h.kept(t, "acme")) > 0 })
	poller := r.runner("acme").poller
	require.EqualValues(t, 1, metric(t, r.reg, "riskpipe_config_last_reload_successful", nil))
	first := metric(t, r.reg, "riskpipe_config_last_reload_success_timestamp_seconds", nil)
	require.Greater(t, first, float64(time.Now().Add(-time.Hour).Unix()))

	post := func(token string) (int, string) {
		req, err := http.NewRequest(http.MethodPost, base+"/-/reload", nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	getBody := func(path string) string {
		resp, err := http.Get(base + path)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	code, body := post("reader-token-0123456789")
	require.Equal(t, http.StatusForbidden, code, body)
	require.Contains(t, body, `lacks the role \"admin\"`)
	require.Zero(t, src.reads.Load(), "a refused request reads nothing")

	tests := []struct {
		name     string
		prepare  func()
		problems []string
	}{
		{name: "invalid file", prepare: func() {
			src.fail(&config.Error{Problems: []config.Problem{
				{Path: "tenants[0].poll.interval", Msg: "must be at least 1s"},
				{Path: "api.tokens[0].token", Msg: "must be at least 16 characters"},
			}})
		}, problems: []string{"tenants[0].poll.interval", "api.tokens[0].token"}},
		{name: "base_url to another org", prepare: func() {
			next := *cfg
			next.Tenants = []config.Tenant{h.tenant("acme")}
			next.Tenants[0].BaseURL = h.sim.BaseURL(h.simURL, "other")
			src.set(&next)
		}, problems: []string{"tenants[0].base_url"}},
		{name: "clickhouse needs a restart", prepare: func() {
			next := *cfg
			next.ClickHouse.Database = "elsewhere"
			src.set(&next)
		}, problems: []string{"clickhouse.database"}},
	}
	for _, tc := range tests {
		tc.prepare()
		code, body := post("ops-token-0123456789")
		require.Equal(t, http.StatusUnprocessableEntity, code, "%s: %s", tc.name, body)
		for _, p := range tc.problems {
			require.Contains(t, body, p, tc.name)
		}
		require.EqualValues(t, 0, metric(t, r.reg, "riskpipe_config_last_reload_successful", nil), tc.name)
		require.Equal(t, first, metric(t, r.reg, "riskpipe_config_last_reload_success_timestamp_seconds", nil), tc.name)
		ready := getBody("/readyz")
		require.True(t, strings.HasPrefix(ready, "ready\nconfig reload failed"), "%s: %s", tc.name, ready)
		for _, p := range tc.problems {
			require.Contains(t, ready, p)
			require.Contains(t, getBody("/-/reload"), p)
		}
		require.Same(t, poller, r.runner("acme").poller, "%s: the tenant was not touched", tc.name)
	}
	require.EqualValues(t, 2, metric(t, r.reg, "riskpipe_config_reloads_total", map[string]string{"result": "refused"}))
	require.EqualValues(t, 1, metric(t, r.reg, "riskpipe_config_reloads_total", map[string]string{"result": "invalid"}))

	// A valid file: applied, and the failure is gone.
	next := *cfg
	next.API.StallAfter = 2 * time.Hour
	src.set(&next)
	code, body = post("ops-token-0123456789")
	require.Equal(t, http.StatusOK, code, body)
	require.Contains(t, body, "api.stall_after")
	require.EqualValues(t, 1, metric(t, r.reg, "riskpipe_config_last_reload_successful", nil))
	require.GreaterOrEqual(t, metric(t, r.reg, "riskpipe_config_last_reload_success_timestamp_seconds", nil), first)
	require.Equal(t, "ready\n", getBody("/readyz"))
	require.Same(t, poller, r.runner("acme").poller)
	r.stop(t)
}
