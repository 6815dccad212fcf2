package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/chserver"
	"github.com/riskpipe/riskpipe/internal/chtest"
	"github.com/riskpipe/riskpipe/internal/oktasim"
	"github.com/riskpipe/riskpipe/internal/oktasim/scenario"
	"github.com/riskpipe/riskpipe/internal/store"
)

// One ClickHouse server for the whole package; goleak checks that no
// in-process command (run, check, demo) leaves a goroutine behind.
func TestMain(m *testing.M) { chtest.Main(m) }

// secretMark starts every credential the tests put in a config: no output
// of any command may contain it.
const secretMark = "SEKRIT"

func secretToken(org string) string  { return secretMark + "-token-" + org + "-7f3a9c1e" }
func secretClient(org string) string { return secretMark + "-client-secret-" + org + "-b2d4e6f8" }

// syncBuffer is a bytes.Buffer safe for the concurrent writers of a
// running command (loggers of many goroutines).
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// cliResult is what one in-process invocation of the CLI produced.
type cliResult struct {
	code           int
	stdout, stderr string
}

func (r cliResult) String() string {
	return fmt.Sprintf("exit %d\n--- stdout\n%s--- stderr\n%s", r.code, r.stdout, r.stderr)
}

// runCLI runs the CLI in-process, as main does, until it returns.
func runCLI(ctx context.Context, args ...string) cliResult {
	var stdout, stderr syncBuffer
	code := run(ctx, args, &stdout, &stderr)
	return cliResult{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// requireNoSecret fails when any output holds a test credential.
func requireNoSecret(t *testing.T, r cliResult, extra ...string) {
	t.Helper()
	for _, out := range []string{r.stdout, r.stderr} {
		require.NotContains(t, out, secretMark, "a secret leaked into the output:\n%s", r)
		for _, s := range extra {
			require.NotContains(t, out, s, "a secret leaked into the output:\n%s", r)
		}
	}
}

// fleet is a simulator with some orgs, served over a real socket. Org i
// is configured with auth method i%3: api_token, client_secret,
// private_key_jwt (the simulator requires DPoP for it, as Okta does for
// new service apps).
type fleet struct {
	sim     *oktasim.Server
	url     string
	orgs    []string
	streams map[string]*scenario.Stream
	key     *ecdsa.PrivateKey
	keyFile string // PKCS#8 PEM of key
	keyPEM  []byte
}

func newFleet(t *testing.T, s simSettings) *fleet {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	s.jwtKey, s.requireDPoP = key, true
	if s.users == 0 {
		s.users = 300
	}
	if s.rateLimit == 0 {
		// Okta-style limits with X-Rate-Limit-* headers, but a bucket so
		// large that riskpipe (which paces itself to half of it) is never
		// held back. Without the headers (noLimits) the okta client stays
		// at its initial 10 requests a minute.
		s.rateLimit = 600_000
	}
	opts, streams, err := simOrgs(s, time.Now())
	require.NoError(t, err)
	for i := range opts {
		name := opts[i].Name
		opts[i].Tokens = []string{secretToken(name)}
		opts[i].Clients[0].Secret = secretClient(name) // sim-client-<org>
	}
	sim, err := oktasim.New(oktasim.Options{Orgs: opts, Seed: s.seed})
	require.NoError(t, err)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)

	der, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	keyFile := filepath.Join(t.TempDir(), "okta-service-app.pem")
	require.NoError(t, os.WriteFile(keyFile, keyPEM, 0o600))
	return &fleet{sim: sim, url: srv.URL, orgs: sim.Orgs(), streams: streams, key: key, keyFile: keyFile, keyPEM: keyPEM}
}

func (f *fleet) org(name string) *oktasim.Org { return f.sim.Org(name) }

// tenants returns a working tenant per org.
func (f *fleet) tenants() []tenantSpec {
	var out []tenantSpec
	for i, name := range f.orgs {
		t := tenantSpec{name: name, baseURL: f.sim.BaseURL(f.url, name)}
		switch i % 3 {
		case 0:
			t.method, t.token = "api_token", secretToken(name)
		case 1:
			t.method, t.clientID, t.clientSecret = "client_secret", "sim-client-"+name, secretClient(name)
		case 2:
			t.method, t.clientID, t.keyFile = "private_key_jwt", "sim-jwt-"+name, f.keyFile
		}
		out = append(out, t)
	}
	return out
}

func (f *fleet) addBacklog(n int64) {
	for _, name := range f.orgs {
		f.org(name).AddBacklog(n)
	}
}

// keyLines are the base64 lines of the private key PEM: none may appear in
// any output.
func (f *fleet) keyLines() []string {
	var out []string
	for _, l := range strings.Split(string(f.keyPEM), "\n") {
		if len(l) > 20 && !strings.HasPrefix(l, "-----") {
			out = append(out, l)
		}
	}
	return out
}

// tenantSpec is one tenant of a test config.
type tenantSpec struct {
	name, baseURL, method            string
	token, clientID, clientSecret    string
	keyFile, keyInline, keyID, extra string
}

// cfgSpec is a test config; zero values take test-friendly defaults.
type cfgSpec struct {
	addr, db, password string
	interval           string // default 1s (the minimum)
	pageLimit          int    // default 1000
	batchMaxWait       string // default 20ms
	logLevel           string // default info
	tenants            []tenantSpec
}

func (c cfgSpec) yaml() string {
	def := func(v, d string) string {
		if v == "" {
			return d
		}
		return v
	}
	if c.pageLimit == 0 {
		c.pageLimit = 1000
	}
	var b strings.Builder
	fmt.Fprintf(&b, "clickhouse:\n  addr: %q\n  database: %q\n", c.addr, c.db)
	if c.password != "" {
		fmt.Fprintf(&b, "  password: %q\n", c.password)
	}
	fmt.Fprintf(&b, "  batch_max_wait: %s\n", def(c.batchMaxWait, "20ms"))
	fmt.Fprintf(&b, "poll:\n  interval: %s\n  page_limit: %d\n  request_timeout: 10s\n", def(c.interval, "1s"), c.pageLimit)
	b.WriteString("tenants:\n")
	for _, t := range c.tenants {
		fmt.Fprintf(&b, "  - name: %q\n    base_url: %q\n    auth:\n      method: %s\n", t.name, t.baseURL, t.method)
		for _, kv := range [][2]string{{"token", t.token}, {"client_id", t.clientID}, {"client_secret", t.clientSecret},
			{"private_key_file", t.keyFile}, {"key_id", t.keyID}} {
			if kv[1] != "" {
				fmt.Fprintf(&b, "      %s: %q\n", kv[0], kv[1])
			}
		}
		if t.keyInline != "" {
			// A block scalar keeps the PEM's lines.
			b.WriteString("      private_key: |\n")
			for _, l := range strings.Split(strings.TrimSpace(t.keyInline), "\n") {
				b.WriteString("        " + l + "\n")
			}
		}
		b.WriteString(t.extra)
	}
	fmt.Fprintf(&b, "http:\n  listen: \"\"\nlog:\n  level: %s\n", def(c.logLevel, "info"))
	return b.String()
}

// writeConfig writes c to a file in a fresh temporary directory.
func writeConfig(t *testing.T, c cfgSpec) string {
	t.Helper()
	return writeFile(t, "riskpipe.yaml", c.yaml())
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
	return p
}

// openStore opens (without migrating) database db of srv for the test's
// own reads.
func openStore(t *testing.T, srv *chserver.Server, db string) *store.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := store.Open(ctx, chtest.Config(srv, db), nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// pollStates returns every tenant's stored state; a database riskpipe has
// not migrated yet has none.
func pollStates(t *testing.T, st *store.Store) map[string]store.PollState {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var n uint64
	require.NoError(t, st.Conn().QueryRow(ctx,
		"SELECT count() FROM system.tables WHERE database = ? AND name = 'poll_state'", st.Database()).Scan(&n))
	out := map[string]store.PollState{}
	if n == 0 {
		return out
	}
	states, err := st.LoadAllPollStates(ctx)
	require.NoError(t, err)
	for _, s := range states {
		out[s.Tenant] = s
	}
	return out
}

// cursorPosition is the simulator log position a stored cursor resumes
// from: the index in its after=<ms>_<index> parameter, or from (the first
// event at or after the integration time) for the first cursor, which
// has no after yet.
func cursorPosition(t *testing.T, cursor string, from int64) int64 {
	t.Helper()
	u, err := url.Parse(cursor)
	require.NoError(t, err, "cursor %q", cursor)
	after := u.Query().Get("after")
	if after == "" {
		require.NotEmpty(t, u.Query().Get("since"), "a cursor without after must poll since the integration time: %q", cursor)
		return from
	}
	_, idx, ok := strings.Cut(after, "_")
	require.True(t, ok, "after %q is not <ms>_<index>", after)
	n, err := strconv.ParseInt(idx, 10, 64)
	require.NoError(t, err, "after %q", after)
	return n
}

// truth is what a perfect poller of one org integrated at since holds
// once it has read the log up to index `to` (exclusive).
type truth struct {
	from, to int64
	kept     map[string]string // event id -> category
	index    map[string]int64  // event id -> log index, for every kept event
}

func orgTruth(f *fleet, org string, since time.Time, to int64) truth {
	o, s := f.org(org), f.streams[org]
	from, end := o.TruthRange(since)
	to = min(to, end)
	tr := truth{from: from, to: to, kept: map[string]string{}, index: map[string]int64{}}
	for i := from; i < to; i++ {
		cat := s.Expect(i)
		if cat == "" {
			continue
		}
		ev, _, ok := o.EventAt(i)
		if !ok {
			panic(fmt.Sprintf("event %d of %s not visible", i, org))
		}
		tr.kept[ev.ID] = cat
		tr.index[ev.ID] = i
	}
	return tr
}

// stored is what risk_events holds for one tenant, read with FINAL.
type stored struct {
	rows, unique uint64
	events       map[string]string // event id -> category
}

func storedEvents(t *testing.T, st *store.Store, tenant string) stored {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tbl := "`" + st.Database() + "`.risk_events"
	var s stored
	require.NoError(t, st.Conn().QueryRow(ctx,
		"SELECT count(), uniqExact(event_id) FROM "+tbl+" FINAL WHERE tenant = ?", tenant).Scan(&s.rows, &s.unique))
	rows, err := st.Conn().Query(ctx, "SELECT event_id, category FROM "+tbl+" FINAL WHERE tenant = ?", tenant)
	require.NoError(t, err)
	defer rows.Close()
	s.events = map[string]string{}
	for rows.Next() {
		var id, cat string
		require.NoError(t, rows.Scan(&id, &cat))
		s.events[id] = cat
	}
	require.NoError(t, rows.Err())
	return s
}

// polledCount is the number of polled events event_type_counts holds for
// a tenant (kept and dropped).
func polledCount(t *testing.T, st *store.Store, tenant string) uint64 {
	t.Helper()
	var n uint64
	require.NoError(t, st.Conn().QueryRow(context.Background(),
		"SELECT sum(events) FROM `"+st.Database()+"`.event_type_counts WHERE tenant = ?", tenant).Scan(&n))
	return n
}

// requireExactlyOnce compares a tenant's risk_events (FINAL) with the
// truth: no duplicate, none lost, none extra, each in its category.
func requireExactlyOnce(t *testing.T, st *store.Store, tenant string, want truth) {
	t.Helper()
	got := storedEvents(t, st, tenant)
	require.Equal(t, got.unique, got.rows, "%s: duplicates in risk_events FINAL", tenant)
	var lost, extra []string
	for id := range want.kept {
		if _, ok := got.events[id]; !ok {
			lost = append(lost, fmt.Sprintf("%s (index %d, %s)", id, want.index[id], want.kept[id]))
		}
	}
	for id := range got.events {
		if _, ok := want.kept[id]; !ok {
			extra = append(extra, id)
		}
	}
	sort.Strings(lost)
	sort.Strings(extra)
	require.Empty(t, lost, "%s: kept events of log [%d, %d) missing from risk_events", tenant, want.from, want.to)
	require.Empty(t, extra, "%s: risk_events holds events outside log [%d, %d) or not to be kept", tenant, want.from, want.to)
	require.Equal(t, want.kept, got.events, "%s: categories", tenant)
	require.NotEmpty(t, want.kept, "%s: the truth keeps nothing: the test proves nothing", tenant)
}

// waitFor polls cond until it holds or the (generous) deadline passes;
// the deadline guards against hangs and is not a speed assertion.
func waitFor(t *testing.T, deadline time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	end := time.Now().Add(deadline)
	for {
		ok, status := cond()
		if ok {
			return
		}
		if time.Now().After(end) {
			t.Fatalf("gave up waiting after %s for %s; last: %s", deadline, what, status)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
