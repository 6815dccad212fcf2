package app

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/config"
	"github.com/riskpipe/riskpipe/internal/oktasim"
	"github.com/riskpipe/riskpipe/internal/simtest"
	"github.com/riskpipe/riskpipe/internal/store"
)

// Okta misbehaving in every way the simulator knows, through the whole
// pipeline: one App, one tenant per fault, all at once. Each tenant gets
// 350 events right after its integration (pages of 100); its fault is
// armed with the backlog to spare the first page (Fault.Skip), so it hits
// the second page (the okta client has learnt the org's rate limit by then,
// as it would have in production). Every tenant must end with exactly its kept events in
// ClickHouse, each once.
func TestOktaFaults(t *testing.T) {
	t.Parallel()
	const backlog = 350
	jwtKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	// Waits of 30 s and more (only the 429s' here: the tenants' retries
	// and intervals are short) take no real time.
	clock := &warpClock{from: 30 * time.Second}

	var runStart time.Time // set when the app starts
	tests := []struct {
		name  string
		fault oktasim.Fault // hits the second page
		// expire: instead of a fault, expire the OAuth access tokens after
		// the first and the second page.
		expire bool
		tenant func(*config.Tenant)
		// during runs once the fault is armed (e.g. to fix it).
		during func(t *testing.T, c result)
		// want adjusts the expected events (id → category).
		want  func(t *testing.T, c result, want map[string]string)
		check func(t *testing.T, c result)
		wait  time.Duration
	}{
		{
			name:  "429 with rate limit headers",
			fault: oktasim.Fault{Kind: oktasim.FaultRateLimited, Count: 2, ResetIn: time.Second},
			check: func(t *testing.T, c result) {
				require.GreaterOrEqual(t, c.metrics("riskpipe_poll_errors_total", map[string]string{"kind": "rate_limited"}), 1.0)
			},
		},
		{
			name:  "concurrency 429",
			fault: oktasim.Fault{Kind: oktasim.FaultConcurrency, Count: 2},
			check: func(t *testing.T, c result) {
				require.GreaterOrEqual(t, c.metrics("riskpipe_poll_errors_total", map[string]string{"kind": "rate_limited"}), 1.0)
			},
		},
		// 5 failures: the client's own retries (4 attempts per fetch) run
		// out once, so the poller sees one too.
		{name: "500 E0000009", fault: oktasim.Fault{Kind: oktasim.FaultServerError, Count: 5}, check: retryableSeen},
		{name: "500 E0000009 query timeout", fault: oktasim.Fault{Kind: oktasim.FaultTimeout, Count: 5}, check: retryableSeen},
		{name: "503 from a load balancer", fault: oktasim.Fault{Kind: oktasim.FaultUnavailable, Count: 5}, check: retryableSeen},
		{name: "connection reset", fault: oktasim.Fault{Kind: oktasim.FaultReset, Count: 10}, check: retryableSeen},
		{name: "truncated bodies", fault: oktasim.Fault{Kind: oktasim.FaultTruncated, Count: 5}, check: retryableSeen},
		{
			name:   "slow responses past the request timeout",
			fault:  oktasim.Fault{Kind: oktasim.FaultSlow, Count: 5, Delay: 3 * time.Second},
			tenant: func(tn *config.Tenant) { tn.Poll.RequestTimeout = time.Second },
			check:  retryableSeen,
		},
		{
			name:  "slow responses within the request timeout",
			fault: oktasim.Fault{Kind: oktasim.FaultSlow, Count: 3, Delay: 500 * time.Millisecond},
		},
		{
			// Four invalid answers in a row: three retries, then the second
			// page is dead-lettered whole and the tenant goes on.
			name:  "invalid JSON page",
			fault: oktasim.Fault{Kind: oktasim.FaultInvalidJSON, Count: 4},
			want: func(t *testing.T, c result, want map[string]string) {
				for i := c.from + 100; i < c.from+200; i++ {
					ev, _, _ := c.org.EventAt(i)
					delete(want, ev.ID)
				}
			},
			check: func(t *testing.T, c result) {
				rows, err := c.h.read.Conn().Query(t.Context(),
					"SELECT reason, payload FROM "+c.h.table("dead_letters")+" FINAL WHERE tenant = ?", c.tenant)
				require.NoError(t, err)
				defer rows.Close()
				var reasons, payloads []string
				for rows.Next() {
					var r, p string
					require.NoError(t, rows.Scan(&r, &p))
					reasons, payloads = append(reasons, r), append(payloads, p)
				}
				require.Len(t, reasons, 1)
				require.True(t, strings.HasPrefix(reasons[0], "invalid page: "), reasons[0])
				// Nothing is lost: the page's events are in the dead letter
				// (the last one cut in half).
				for i := c.from + 100; i < c.from+199; i++ {
					ev, _, _ := c.org.EventAt(i)
					require.Contains(t, payloads[0], ev.ID)
				}
				require.InDelta(t, 3, c.metrics("riskpipe_poll_errors_total", map[string]string{"kind": "invalid_page"}), 0)
				require.InDelta(t, 1, c.metrics("riskpipe_events_dead_lettered_total", nil), 0)
			},
		},
		{
			// The next links of pages 2 and 3 point 5 events back.
			name:  "duplicated events across pages",
			fault: oktasim.Fault{Kind: oktasim.FaultDuplicate, Count: 2, Events: 5},
			check: func(t *testing.T, c result) {
				require.InDelta(t, backlog+10, c.metrics("riskpipe_events_polled_total", nil), 0, "10 events were served twice")
			},
		},
		{
			// Pages 2 and 3 come without uuids: their events get ids derived
			// from their content, and are written once.
			name:  "events missing uuid",
			fault: oktasim.Fault{Kind: oktasim.FaultMissingUUID, Count: 2},
			want: func(t *testing.T, c result, want map[string]string) {
				for i := c.from + 100; i < c.from+300; i++ {
					ev, _, _ := c.org.EventAt(i)
					if cat, ok := want[ev.ID]; ok {
						delete(want, ev.ID)
						want[simtest.DerivedIDWithoutUUID(t, ev.Raw)] = cat
					}
				}
			},
		},
		{
			// The API token is revoked until someone fixes it.
			name:  "401 until fixed",
			fault: oktasim.Fault{Kind: oktasim.FaultUnauthorized, Probability: 1},
			during: func(t *testing.T, c result) {
				eventually(t, waitFor, func() bool {
					s, _ := c.r.status(c.tenant)
					return s.State == "auth_error" && s.ConsecutiveFailures >= 3 && strings.Contains(s.LastError, "401")
				}, "the status reports the auth error")
				require.GreaterOrEqual(t, c.metrics("riskpipe_poll_errors_total", map[string]string{"kind": "auth"}), 3.0)
				c.org.ClearFaults()
			},
		},
		{
			// OAuth (private_key_jwt, DPoP required): the access token
			// expires twice; the client gets a new one by itself.
			name:   "expired OAuth tokens",
			expire: true,
			tenant: func(tn *config.Tenant) {
				tn.Auth = config.Auth{Method: config.AuthPrivateKeyJWT, ClientID: "svc-" + tn.Name, Signer: jwtKey,
					Scopes: []string{config.ScopeLogsRead}, DPoP: config.DPoPAuto}
			},
			check: func(t *testing.T, c result) {
				st := c.org.Stats()
				require.GreaterOrEqual(t, st.TokensIssued, int64(3), "a new token after each expiry")
				require.GreaterOrEqual(t, st.Requests[401], int64(2), "the expired token was refused")
				require.Zero(t, c.metrics("riskpipe_poll_errors_total", map[string]string{"kind": "auth"}),
					"the refresh is the client's business: the poller never sees an auth error")
			},
		},
		{
			// Without headers the wait is Okta's window, a minute: on the
			// App's clock, which jumps over it (warpClock).
			name:  "429 without headers",
			fault: oktasim.Fault{Kind: oktasim.FaultRateLimitedNoHeaders},
			check: func(t *testing.T, c result) {
				require.InDelta(t, 1, c.metrics("riskpipe_poll_errors_total", map[string]string{"kind": "rate_limited"}), 0)
				// The client sets the end of the wait (429 + a minute) when the
				// 429 arrives and sleeps the rest of it when it next sends:
				// the real time in between (the poller's work, a loaded
				// machine) is shorter than the whole run so far.
				longest := slices.Max(append(clock.warped(), 0))
				require.LessOrEqual(t, longest, time.Minute+time.Second, "the wait is the window Okta documents")
				require.GreaterOrEqual(t, longest, time.Minute-time.Since(runStart), "the wait is the window Okta documents")
			},
		},
	}

	var specs []orgSpec
	names := make([]string, len(tests))
	for i, tt := range tests {
		names[i] = tenantName(i)
		spec := orgSpec{name: names[i]}
		if tt.expire {
			spec.clients = []oktasim.Client{{ID: "svc-" + names[i], PublicKey: jwtKey.Public(), RequireDPoP: true}}
		}
		specs = append(specs, spec)
	}
	h := newHarness(t, nil, specs...)
	var tenants []config.Tenant
	sinks := map[string]*hookSink{}
	for i, tt := range tests {
		tn := h.tenant(names[i])
		if tt.tenant != nil {
			tt.tenant(&tn)
		}
		tenants = append(tenants, tn)
		org := h.orgs[names[i]].org
		fault, expire := tt.fault, tt.expire
		expired := 0
		sinks[names[i]] = &hookSink{org: org, hook: func(n int, b store.Batch, write func(store.Batch) error) error {
			err := write(b)
			if err != nil {
				return err
			}
			switch {
			case n == 0:
				org.AddBacklog(backlog)
				if !expire {
					// Spare the first page: the poller fetches the second
					// while the first one's write is in flight.
					fault.Skip = 1
					if err := org.SetFault(fault); err != nil {
						panic(err) // a broken test table
					}
				}
			case expire && n >= 1 && expired < 2 && org.Stats().TokensIssued > int64(expired):
				// After the first page, and again once a new token was
				// issued (pages written together must not spend both).
				org.ExpireTokens()
				expired++
			}
			return nil
		}}
	}
	runStart = time.Now()
	r := h.start(t, h.config(tenants...), hooks(sinks), func(o *Options) { o.Clock = clock })

	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := names[i]
			org := h.orgs[name].org
			integratedAt := r.integrated(t, name)
			from, _ := org.TruthRange(integratedAt)
			c := result{h: h, r: r, tenant: name, org: org, from: from,
				metrics: func(m string, labels map[string]string) float64 {
					l := map[string]string{"tenant": name}
					for k, v := range labels {
						l[k] = v
					}
					if m == "riskpipe_events_polled_total" || m == "riskpipe_events_dead_lettered_total" {
						return metric(t, r.reg, m, l)
					}
					sum, _ := metricSum(t, r.reg, m, l)
					return sum
				}}
			if tt.during != nil {
				eventually(t, waitFor, func() bool { return len(sinks[name].pages()) >= 2 }, "first page written")
				tt.during(t, c)
			}
			eventually(t, waitFor, func() bool { return org.Len() == backlog })
			want := h.want(t, name, integratedAt)
			if tt.want != nil {
				tt.want(t, c, want)
			}
			wait := waitFor
			if tt.wait > 0 {
				wait = tt.wait
			}
			h.converged(t, name, want, wait)
			if !tt.expire {
				require.GreaterOrEqual(t, org.Stats().Faults[tt.fault.Kind], int64(1), "the fault was applied")
			}
			c.writes = sinks[name].pages()
			requireMonotonicCursors(t, c.writes)
			if tt.check != nil {
				tt.check(t, c)
			}
			eventually(t, waitFor, func() bool {
				s, _ := r.status(name)
				return s.ConsecutiveFailures == 0 && s.LastError == ""
			}, "the tenant recovered")
		})
	}
}

// result is what a fault subtest checks.
type result struct {
	h      *harness
	r      *running
	tenant string
	org    *oktasim.Org
	from   int64 // index of the first event after the integration
	writes []writeCall
	// metrics sums a metric's series of the tenant matching labels.
	metrics func(name string, labels map[string]string) float64
}

// retryableSeen: the poller saw (and retried) a retryable fetch error.
func retryableSeen(t *testing.T, c result) {
	require.GreaterOrEqual(t, c.metrics("riskpipe_poll_errors_total", map[string]string{"kind": "retryable"}), 1.0)
}

func tenantName(i int) string { return "fault-" + string(rune('a'+i)) }

// One tenant failing for good never stops another: while two orgs answer
// only 500s and 401s, a healthy one is ingested completely; once fixed, the
// failing ones catch up with nothing lost.
func TestOneTenantNeverDelaysAnother(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil,
		orgSpec{name: "healthy", eps: 100},
		orgSpec{name: "down"},
		orgSpec{name: "locked"},
	)
	faults := map[string]oktasim.Fault{
		"down":   {Kind: oktasim.FaultServerError, Probability: 1},
		"locked": {Kind: oktasim.FaultUnauthorized, Probability: 1},
	}
	sinks := map[string]*hookSink{}
	for name, f := range faults {
		org := h.orgs[name].org
		sinks[name] = &hookSink{hook: func(n int, b store.Batch, write func(store.Batch) error) error {
			err := write(b)
			if err == nil && n == 1 { // broken from the second request on
				org.AddBacklog(200)
				if err := org.SetFault(f); err != nil {
					panic(err)
				}
			}
			return err
		}}
	}
	r := h.start(t, h.config(), hooks(sinks))
	healthyAt := r.integrated(t, "healthy")
	downAt := r.integrated(t, "down")
	lockedAt := r.integrated(t, "locked")

	eventually(t, waitFor, func() bool {
		d, _ := r.status("down")
		l, _ := r.status("locked")
		return d.State == "backing_off" && d.ConsecutiveFailures >= 2 &&
			l.State == "auth_error" && l.ConsecutiveFailures >= 3 &&
			len(h.kept(t, "healthy")) >= 50
	}, "the healthy tenant ingests while the others fail")
	h.orgs["healthy"].org.SetRate(0)
	h.converged(t, "healthy", h.want(t, "healthy", healthyAt), waitFor)
	require.Empty(t, h.kept(t, "down"))
	require.Empty(t, h.kept(t, "locked"))
	d, _ := r.status("down")
	require.Contains(t, d.LastError, "500")
	require.Greater(t, h.orgs["down"].org.Len(), int64(0))

	// Fixed: both catch up with everything that waited for them.
	h.orgs["down"].org.ClearFaults()
	h.orgs["locked"].org.ClearFaults()
	h.converged(t, "down", h.want(t, "down", downAt), waitFor)
	h.converged(t, "locked", h.want(t, "locked", lockedAt), waitFor)
}

// warpClock is the real clock, except that a wait of at least from takes
// no real time: the clock jumps ahead by it instead (a fake clock for an
// App whose other waits must stay real, as the simulator's are).
type warpClock struct {
	from time.Duration

	mu     sync.Mutex
	offset time.Duration
	warps  []time.Duration
}

func (c *warpClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *warpClock) Sleep(ctx context.Context, d time.Duration) error {
	if d < c.from {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			return nil
		}
	}
	c.mu.Lock()
	c.offset += d
	c.warps = append(c.warps, d)
	c.mu.Unlock()
	return ctx.Err()
}

// warped returns the waits the clock jumped over.
func (c *warpClock) warped() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.warps)
}
