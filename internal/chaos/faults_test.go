package chaos

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/oktasim"
	"github.com/riskpipe/riskpipe/internal/oktasim/scenario"
	"github.com/riskpipe/riskpipe/internal/simtest"
)

// faultCase is one Okta fault, injected into an org of its own.
type faultCase struct {
	name        string // the org's name
	auth        string
	perMinute   int // rate-limit bucket; 0: hugeBucket
	extraTokens []string
	what        string
	arm         func(c *faultCtx) // at the start of the window
	tick        func(c *faultCtx) // every ~250 ms during the window
	// untilDeadLetter keeps the fault armed past the window until riskpipe
	// dead-lettered a page of the org.
	untilDeadLetter bool
	kinds           []oktasim.FaultKind // faults that must have hit riskpipe
	// await, when set, is waited for after the window (the fault's own
	// trigger, armed by arm, must have hit riskpipe): done, or what it
	// waits for.
	await func(c *faultCtx) (bool, string)
}

type faultCtx struct {
	t     *testing.T
	sm    *sim
	d     *deployment
	org   *oktasim.Org
	name  string
	ticks int
	last  time.Time // last time tick acted
	// bucket-drained: riskpipe's request met the spent bucket (nil), or
	// why not; metDone once received.
	met     chan error
	metDone bool
}

func (c *faultCtx) set(f oktasim.Fault) {
	c.t.Helper()
	require.NoError(c.t, c.org.SetFault(f))
}

func setFault(f oktasim.Fault) func(*faultCtx) { return func(c *faultCtx) { c.set(f) } }

// every runs f at most once per period.
func every(period time.Duration, f func(*faultCtx)) func(*faultCtx) {
	return func(c *faultCtx) {
		if time.Since(c.last) >= period {
			c.last = time.Now()
			f(c)
		}
	}
}

// sometimes arms f (a fault hitting with f.Probability < 1) so that it
// surely hits: at first the next request, then, once that hit, each with
// f.Probability.
func sometimes(f oktasim.Fault) (arm, tick func(*faultCtx)) {
	first := f
	first.Probability, first.Count = 1, 1
	arm = func(c *faultCtx) { c.set(first) }
	tick = func(c *faultCtx) {
		if c.ticks == 0 && c.org.Stats().Faults[f.Kind] > 0 {
			c.ticks++
			c.set(f)
		}
	}
	return arm, tick
}

// hogTokens are the other clients of the bucket-drained org. Each may use
// half of the org's bucket (its principal share); five of them can always
// spend the org bucket itself: for all five shares to be spent, 300
// requests must have been accepted within the last minute, which spans at
// most two org windows of 120.
func hogTokens(org string) []string {
	out := make([]string, 5)
	for i := range out {
		out[i] = fmt.Sprintf("hog-%d-%s", i+1, org)
	}
	return out
}

func (s *suite) faultCases() []faultCase {
	const sec = time.Second
	expire := func(c *faultCtx) { c.set(oktasim.Fault{Kind: oktasim.FaultExpireTokens}) }
	serverErrorArm, serverErrorTick := sometimes(oktasim.Fault{Kind: oktasim.FaultServerError, Probability: 0.7})
	slowArm, slowTick := sometimes(oktasim.Fault{Kind: oktasim.FaultSlow, Probability: 0.5, Delay: 7 * sec})
	return []faultCase{
		{name: "rate-limited", auth: authToken, perMinute: 1200, what: "429 storm with X-Rate-Limit headers (reset in 2 s)",
			arm: setFault(oktasim.Fault{Kind: oktasim.FaultRateLimited, Probability: 1, ResetIn: 2 * sec}), kinds: []oktasim.FaultKind{oktasim.FaultRateLimited}},
		{name: "rate-limited-no-headers", auth: authSecret, perMinute: 1200, what: "429 storm without X-Rate-Limit headers",
			arm: setFault(oktasim.Fault{Kind: oktasim.FaultRateLimitedNoHeaders, Probability: 1}), kinds: []oktasim.FaultKind{oktasim.FaultRateLimitedNoHeaders}},
		{name: "concurrency", auth: authJWT, perMinute: 1200, what: "concurrency 429s (limit 0, reset in 1 s)",
			arm: setFault(oktasim.Fault{Kind: oktasim.FaultConcurrency, Probability: 1}), kinds: []oktasim.FaultKind{oktasim.FaultConcurrency}},
		{name: "bucket-drained", auth: authToken, perMinute: bucketPerMinute, extraTokens: hogTokens("bucket-drained"),
			what: "org bucket of 120/min drained by five other clients: real 429s until the window resets; riskpipe's first page request of the window held until the bucket was spent",
			arm:  meetSpentBucket, tick: drainBucket, await: spentBucketMet},
		{name: "server-error", auth: authToken, what: "500 E0000009 on 70% of requests",
			arm: serverErrorArm, tick: serverErrorTick, kinds: []oktasim.FaultKind{oktasim.FaultServerError}},
		{name: "timeout", auth: authSecret, what: "500 E0000009 \"took too long\"",
			arm: setFault(oktasim.Fault{Kind: oktasim.FaultTimeout, Probability: 1}), kinds: []oktasim.FaultKind{oktasim.FaultTimeout}},
		{name: "unavailable", auth: authJWT, what: "503 with an HTML body",
			arm: setFault(oktasim.Fault{Kind: oktasim.FaultUnavailable, Probability: 1}), kinds: []oktasim.FaultKind{oktasim.FaultUnavailable}},
		{name: "reset", auth: authToken, what: "connections reset (TCP RST)",
			arm: setFault(oktasim.Fault{Kind: oktasim.FaultReset, Probability: 1}), kinds: []oktasim.FaultKind{oktasim.FaultReset}},
		{name: "slow", auth: authSecret, what: "every response 2 s slow",
			arm: setFault(oktasim.Fault{Kind: oktasim.FaultSlow, Probability: 1, Delay: 2 * sec}), kinds: []oktasim.FaultKind{oktasim.FaultSlow}},
		{name: "slow-beyond-timeout", auth: authJWT, what: "half the responses 7 s slow (request_timeout 5 s)",
			arm: slowArm, tick: slowTick, kinds: []oktasim.FaultKind{oktasim.FaultSlow}},
		{name: "truncated", auth: authToken, what: "bodies cut short of their Content-Length",
			arm: setFault(oktasim.Fault{Kind: oktasim.FaultTruncated, Probability: 1}), kinds: []oktasim.FaultKind{oktasim.FaultTruncated}},
		{name: "invalid-json", auth: authSecret, what: "complete 200 bodies that are invalid JSON, until a page is dead-lettered",
			arm: setFault(oktasim.Fault{Kind: oktasim.FaultInvalidJSON, Probability: 1}), untilDeadLetter: true, kinds: []oktasim.FaultKind{oktasim.FaultInvalidJSON}},
		{name: "duplicate", auth: authJWT, what: "the last 10 events of every page served again on the next",
			arm: setFault(oktasim.Fault{Kind: oktasim.FaultDuplicate, Probability: 1, Events: 10}), kinds: []oktasim.FaultKind{oktasim.FaultDuplicate}},
		{name: "missing-uuid", auth: authToken, what: "events served without uuid",
			arm: setFault(oktasim.Fault{Kind: oktasim.FaultMissingUUID, Probability: 1}), kinds: []oktasim.FaultKind{oktasim.FaultMissingUUID}},
		{name: "late-events", auth: authSecret, what: "risk events published 10 min ago and 1 h before the integration time, injected at the start and every half window",
			arm: injectLate, tick: every(s.sz.faultWindow/2, injectLate)},
		{name: "unauthorized", auth: authToken, what: "401 E0000011 (API token revoked), then valid again",
			arm: setFault(oktasim.Fault{Kind: oktasim.FaultUnauthorized, Probability: 1}), kinds: []oktasim.FaultKind{oktasim.FaultUnauthorized}},
		{name: "expired-tokens", auth: authSecret, what: "access tokens expired every second; token endpoint 503 twice",
			arm: func(c *faultCtx) {
				c.set(oktasim.Fault{Kind: oktasim.FaultUnavailable, Endpoint: oktasim.EndpointToken, Count: 2})
				expire(c)
			}, tick: every(sec, expire), kinds: []oktasim.FaultKind{oktasim.FaultExpireTokens, oktasim.FaultUnavailable}},
		{name: "expired-tokens-dpop", auth: authJWT, what: "DPoP-bound access tokens expired every second",
			arm: expire, tick: every(sec, expire), kinds: []oktasim.FaultKind{oktasim.FaultExpireTokens}},
	}
}

// bucketPerMinute is the bucket-drained org's bucket.
const bucketPerMinute = 120

// drainBucket keeps the org's bucket spent during the window (the hogs
// spend it again as soon as a new window opens).
func drainBucket(c *faultCtx) {
	c.ticks++
	_, err := spendBucket(c.sm, c.name)
	require.NoError(c.t, err)
}

// spendBucket spends the org's bucket with the hog tokens until the org
// bucket itself refuses (a 429 whose X-Rate-Limit-Limit is the org's, not
// a hog's share), and returns the window's reset as that 429 reports it
// (whole seconds, rounded up). It runs outside the test's goroutine too.
func spendBucket(sm *sim, org string) (time.Time, error) {
	client := &http.Client{Timeout: time.Minute} // a hang guard
	defer client.CloseIdleConnections()
	base := sm.srv.BaseURL(sm.url, org) + "/api/v1/logs?limit=1"
	hogs := hogTokens(org)
	for i := range 4 * bucketPerMinute {
		req, err := http.NewRequest(http.MethodGet, base, nil)
		if err != nil {
			return time.Time{}, err
		}
		req.Header.Set("Authorization", "SSWS "+hogs[i%len(hogs)])
		resp, err := client.Do(req)
		if err != nil {
			return time.Time{}, fmt.Errorf("hog request: %w", err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode == http.StatusTooManyRequests && resp.Header.Get("X-Rate-Limit-Limit") == strconv.Itoa(bucketPerMinute) {
			reset, err := strconv.ParseInt(resp.Header.Get("X-Rate-Limit-Reset"), 10, 64)
			if err != nil {
				return time.Time{}, fmt.Errorf("X-Rate-Limit-Reset: %w", err)
			}
			return time.Unix(reset, 0), nil
		}
	}
	return time.Time{}, fmt.Errorf("%d hog requests did not spend the org bucket of %s", 4*bucketPerMinute, org)
}

// meetSpentBucket makes riskpipe's next page request meet the org bucket
// spent, whenever riskpipe sends it (its own pacing may keep it waiting
// for a window's reset): the simulator holds the request (oktasim.RequestHold)
// while the hogs spend the bucket, and lets it through only when the
// window has at least 2 s left, so that the real bucket answers it 429
// however fast or slow riskpipe and the machine are. A request that would
// meet the window's last seconds, or whose client gave up while held, is
// let go and the next one held. The result arrives on c.met.
func meetSpentBucket(c *faultCtx) {
	const minLeft = 3 * time.Second // the reset is rounded up to a second: ≥ 2 s left
	c.met = make(chan error, 1)
	stop := make(chan struct{})
	stopped := make(chan struct{})
	c.t.Cleanup(func() { close(stop); <-stopped })
	page := func(r *http.Request) bool {
		return r.Header.Get("Authorization") == "SSWS "+token(c.name) && r.URL.Query().Get("after") != ""
	}
	org := c.org
	go func() {
		defer close(stopped)
		for {
			h := org.HoldRequest(0, page)
			select {
			case <-stop:
				h.Release()
				return
			case <-h.Held():
			}
			reset, err := spendBucket(c.sm, c.name)
			certain := err == nil && time.Until(reset) >= minLeft
			if live := h.Release(); err != nil || certain && live {
				c.met <- err
				return
			}
		}
	}()
}

// spentBucketMet reports whether meetSpentBucket is done.
func spentBucketMet(c *faultCtx) (bool, string) {
	if c.metDone {
		return true, ""
	}
	select {
	case err := <-c.met:
		require.NoError(c.t, err, "%s: spending the bucket", c.name)
		c.metDone = true
		return true, ""
	default:
		return false, "riskpipe's next page request, to meet the spent bucket"
	}
}

// injectLate injects two late risk events into the org: one published
// 10 minutes ago, one an hour before the integration time (both persisted
// now, after the cursor's newest events).
func injectLate(c *faultCtx) {
	c.ticks++
	st := c.sm.streams[c.name]
	now := time.Now()
	var evs []injectedEvent
	for k, pub := range []time.Time{now.Add(-10 * time.Minute), c.d.Since[c.name].Add(-time.Hour)} {
		evs = append(evs, riskEventFrom(c.t, st, 100*c.ticks+k, pub))
	}
	c.sm.inject(c.name, evs...)
}

// riskEventFrom returns the k-th kept event of a stream with a new uuid
// and the given published time, and the category it must be kept under.
func riskEventFrom(t *testing.T, st *scenario.Stream, k int, published time.Time) injectedEvent {
	t.Helper()
	for i := int64(0); ; i++ {
		cat := st.Expect(i)
		if cat == "" {
			continue
		}
		if k--; k >= 0 {
			continue
		}
		id := newUUID()
		raw := rewrite(t, st.Event(i, published).Raw, func(m map[string]any) {
			m["uuid"] = id
			m["published"] = published.UTC().Format("2006-01-02T15:04:05.000Z")
		})
		return injectedEvent{raw: raw, id: id, category: cat}
	}
}

// rewrite decodes an event (numbers kept as written), lets f change it and
// encodes it again.
func rewrite(t *testing.T, raw []byte, f func(m map[string]any)) []byte {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	require.NoError(t, dec.Decode(&m))
	f(m)
	b, err := json.Marshal(m)
	require.NoError(t, err)
	return b
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// oktaFaults runs one riskpipe over two healthy orgs and one org per Okta
// fault, all faults at once: for a window they hit their orgs, then they
// are cleared. riskpipe must not crash, lose nothing, dead-letter the bad
// page with a reason, recover each org, and keep the healthy orgs
// ingesting while the faults are active.
func (s *suite) oktaFaults(t *testing.T) {
	cases := s.faultCases()
	specs := []orgSpec{
		{name: "healthy-a", auth: authToken, scenario: scenario.ScenarioBench, riskShare: 0.2, eps: s.sz.faultEPS},
		{name: "healthy-b", auth: authJWT, scenario: scenario.ScenarioBench, riskShare: 0.2, eps: s.sz.faultEPS},
	}
	healthy := []string{"healthy-a", "healthy-b"}
	for _, fc := range cases {
		specs = append(specs, orgSpec{name: fc.name, auth: fc.auth, scenario: scenario.ScenarioBench, riskShare: 0.1,
			eps: s.sz.faultEPS, perMinute: fc.perMinute, extraTokens: fc.extraTokens})
	}
	sm := newSim(t, s.seed+300, true, specs...)
	d := s.deploy(t, sm, s.ch, newDatabase(t, s.ch), cfgSpec{pageLimit: 100, requestTimeout: "5s"})

	p := d.start()
	d.WaitIntegrated(p, 2*time.Minute)
	warm := map[string]int64{}
	for _, org := range sm.names {
		warm[org] = d.From(org) + int64(2*s.sz.faultEPS)
	}
	d.WaitPositions(p, 2*time.Minute, "every org polling before the faults", warm)

	// The window: every fault at once.
	ctxs := map[string]*faultCtx{}
	h0, k0 := d.Positions(), keptOf(d, healthy)
	t0 := time.Now()
	for _, fc := range cases {
		c := &faultCtx{t: t, sm: sm, d: d, org: sm.org(fc.name), name: fc.name, last: time.Now()}
		ctxs[fc.name] = c
		if fc.arm != nil {
			fc.arm(c)
		}
	}
	// The faults stay active for the window, and longer if need be until
	// the healthy orgs' kept events arrived (a slow machine is no reason
	// to fail, a healthy org stalled by the others' faults is).
	var h1 map[string]int64
	var k1 map[string]uint64
	advanced := func() bool {
		h1, k1 = d.Positions(), keptOf(d, healthy) // positions: never backwards
		for _, org := range healthy {
			if h1[org] <= h0[org] || k1[org] <= k0[org] {
				return false
			}
		}
		return true
	}
	for {
		p.Alive("Okta faults are active")
		for _, fc := range cases {
			if fc.tick != nil {
				fc.tick(ctxs[fc.name])
			}
		}
		if time.Since(t0) < s.sz.faultWindow {
			d.Positions() // never backwards
		} else if advanced() {
			break
		}
		require.Less(t, time.Since(t0), s.sz.faultWindow+2*time.Minute,
			"the healthy orgs' cursors and kept events did not advance while the other orgs' faults were active: %v → %v, kept %v → %v", h0, h1, k0, k1)
		time.Sleep(250 * time.Millisecond)
	}
	window := time.Since(t0)

	// Clear; the dead-letter case stays armed until a page was
	// dead-lettered.
	clearedAt, endAtClear := map[string]time.Time{}, map[string]int64{}
	clearFault := func(name string) {
		clearedAt[name] = time.Now()
		endAtClear[name] = sm.org(name).Len()
		sm.org(name).ClearFaults()
	}
	for _, fc := range cases {
		if !fc.untilDeadLetter {
			clearFault(fc.name)
		}
	}
	for _, fc := range cases {
		if !fc.untilDeadLetter {
			continue
		}
		simtest.WaitFor(t, 3*time.Minute, fc.name+": a page dead-lettered", func() (bool, string) {
			p.Alive("waiting for a dead-lettered page")
			n := d.db.uint("SELECT count() FROM "+d.db.table("dead_letters")+" WHERE tenant = ? AND startsWith(reason, 'invalid page')", fc.name)
			return n > 0, fmt.Sprintf("%d dead letters", n)
		})
		clearFault(fc.name)
	}
	// Faults with a trigger of their own (armed at the start) must have
	// hit riskpipe; a slow machine only makes that later.
	for _, fc := range cases {
		if fc.await == nil {
			continue
		}
		simtest.WaitFor(t, 3*time.Minute, fc.name+": its trigger hit riskpipe", func() (bool, string) {
			p.Alive("waiting for " + fc.name + "'s trigger")
			return fc.await(ctxs[fc.name])
		})
	}

	// Recovery: each org reads everything published until its fault was
	// cleared; the healthy orgs keep going meanwhile.
	recovered := map[string]time.Duration{}
	simtest.WaitFor(t, 5*time.Minute, "every faulty org recovered", func() (bool, string) {
		p.Alive("the orgs recover")
		pos := d.Positions()
		var waiting []string
		for _, fc := range cases {
			if _, ok := recovered[fc.name]; ok {
				continue
			}
			if pos[fc.name] >= endAtClear[fc.name] {
				recovered[fc.name] = time.Since(clearedAt[fc.name])
				continue
			}
			waiting = append(waiting, fmt.Sprintf("%s at %d of %d", fc.name, pos[fc.name], endAtClear[fc.name]))
		}
		return len(waiting) == 0, strings.Join(waiting, ", ")
	})
	h2 := d.Positions()
	slowest := time.Since(t0) - window
	if slowest > 5*time.Second {
		for _, org := range healthy {
			require.Greater(t, h2[org], h1[org], "%s: cursor did not advance while the faulty orgs recovered", org)
		}
	}

	end := d.stopTraffic()
	d.WaitPositions(p, 5*time.Minute, "every cursor at the end of its log", end)
	drain := p.Terminate()

	// Every org against the truth.
	results := map[string]result{}
	countsDiff := map[string]int64{} // event_type_counts minus the events riskpipe could decode
	for _, org := range sm.names {
		tr := sm.truth(org, d.Since[org], end[org], truthOptions{late: true, altIDs: org == "missing-uuid"})
		r := check(t, sm, d.db, org, tr)
		results[org] = r
		countsDiff[org] = int64(d.db.polledCount(org)) - (tr.To - tr.From - r.deadLetteredPageEvents)
		require.GreaterOrEqual(t, countsDiff[org], int64(0), "%s: event_type_counts lost events", org)
	}
	d.requireOneIntegration()

	var healthyRes []result
	var healthyKept, healthyAdv, healthyAdvRecovery int64
	for _, org := range healthy {
		healthyRes = append(healthyRes, results[org])
		healthyKept += int64(k1[org] - k0[org])
		healthyAdv += h1[org] - h0[org]
		healthyAdvRecovery += h2[org] - h1[org]
	}
	s.addResults(fmt.Sprintf("okta: %d healthy orgs beside %d faulty ones", len(healthy), len(cases)), "-",
		fmt.Sprintf("while the faults were active (%s) their cursors advanced %d events and %d kept events arrived; %d more events while the faulty orgs recovered (%s); final drain %s",
			seconds(window), healthyAdv, healthyKept, healthyAdvRecovery, seconds(slowest), seconds(drain)),
		healthyRes...)

	for _, fc := range cases {
		r := results[fc.name]
		st := sm.org(fc.name).Stats()
		var hits []string
		for _, k := range fc.kinds {
			hits = append(hits, fmt.Sprintf("%s ×%d", k, st.Faults[k]))
			require.Positive(t, st.Faults[k], "%s: fault %s never hit riskpipe", fc.name, k)
		}
		statuses := statusCounts(sm, fc.name)
		notes := []string{fc.what}
		if len(hits) > 0 {
			notes = append(notes, "applied: "+strings.Join(hits, ", "))
		}
		notes = append(notes, "riskpipe's requests by status: "+statuses)
		switch fc.name {
		case "bucket-drained":
			n := 0
			for _, pg := range sm.served.snapshot(fc.name) {
				if pg.principal == token(fc.name) && pg.status == http.StatusTooManyRequests {
					n++
				}
			}
			require.Positive(t, n, "%s: riskpipe never got a 429", fc.name)
		case "expired-tokens", "expired-tokens-dpop":
			require.Greater(t, st.TokensIssued, int64(1), "%s: riskpipe never asked for a new token", fc.name)
			notes = append(notes, fmt.Sprintf("%d access tokens issued", st.TokensIssued))
		case "invalid-json":
			require.Positive(t, r.deadLetteredPages, "%s: no served invalid page is in dead_letters byte for byte", fc.name)
			for _, dl := range d.db.deadLetters(fc.name) {
				require.True(t, strings.HasPrefix(dl.reason, "invalid page"), "%s: dead letter reason %q", fc.name, dl.reason)
			}
			notes = append(notes, fmt.Sprintf("%d page(s) dead-lettered whole with reason \"invalid page: ...\" (%d events; %d kept events in them, %d of them cut so that their uuid is not in the payload)",
				r.deadLetteredPages, r.deadLetteredPageEvents, r.inDeadLetteredPage, r.unrecoverableFromLetter))
		case "late-events":
			injected := 2 * (ctxs[fc.name].ticks)
			notes = append(notes, fmt.Sprintf("%d injected late events kept", injected))
		}
		if r.DerivedIDs > 0 {
			notes = append(notes, fmt.Sprintf("%d kept events stored under the id derived from their content", r.DerivedIDs))
		}
		if countsDiff[fc.name] == 0 {
			notes = append(notes, "event_type_counts exact")
		} else {
			notes = append(notes, fmt.Sprintf("event_type_counts +%d (events served twice are counted twice)", countsDiff[fc.name]))
		}
		if r.late > 0 {
			notes = append(notes, fmt.Sprintf("%d late risk events of the stream (published >3 s before one served ahead of them) kept", r.late))
		}
		s.addResults("okta: "+fc.name, seconds(recovered[fc.name])+" after cleared", strings.Join(notes, "; "), r)
	}
	for _, org := range sm.names {
		results[org].Require(t)
	}
}

func keptOf(d *deployment, orgs []string) map[string]uint64 {
	out := map[string]uint64{}
	for _, org := range orgs {
		out[org] = d.db.keptCount(org)
	}
	return out
}

// statusCounts summarises the answers riskpipe got from an org ("0": no
// answer), other clients' requests aside.
func statusCounts(sm *sim, org string) string {
	counts := map[int]int{}
	for _, pg := range sm.served.snapshot(org) {
		if strings.HasPrefix(pg.principal, "hog-") {
			continue
		}
		counts[pg.status]++
	}
	var keys []int
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%d ×%d", k, counts[k]))
	}
	return strings.Join(parts, ", ")
}
