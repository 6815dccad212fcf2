package chaos

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/oktasim"
	"github.com/riskpipe/riskpipe/internal/oktasim/scenario"
	"github.com/riskpipe/riskpipe/internal/simtest"
)

// Auth methods of a simulated org's tenant.
const (
	authToken  = "api_token"
	authSecret = "client_secret"
	authJWT    = "private_key_jwt" // with DPoP required, as for new Okta service apps
)

// hugeBucket is the per-minute /api/v1/logs bucket of orgs that are not
// about rate limits: large enough never to hold riskpipe back, but sent in
// X-Rate-Limit-* headers, without which riskpipe's client stays at its
// conservative starting pace of 10 requests a minute.
const hugeBucket = 600_000

// orgSpec describes one simulated org.
type orgSpec struct {
	name      string
	auth      string
	scenario  string  // scenario.ScenarioDemo or ScenarioBench; "" for an org of injected events only
	eps       float64 // generated events per second
	riskShare float64 // bench: fraction of risk events (default 0.02)
	perMinute int     // rate-limit bucket; 0: hugeBucket
	// extraTokens are more SSWS tokens of the org (other clients of the
	// same bucket).
	extraTokens []string
}

// sim is a simulator with its orgs, served over a real socket through a
// recorder of every /api/v1/logs answer.
type sim struct {
	t       *testing.T
	srv     *oktasim.Server
	url     string
	names   []string
	specs   map[string]orgSpec
	streams map[string]*scenario.Stream
	keyFile string // PKCS#8 PEM of the private_key_jwt clients' key
	served  *servedLog

	mu       sync.Mutex
	injected map[string]map[string]string // org → injected event id → category it must be kept under ("" if not)
}

func newSim(t *testing.T, seed int64, captureBodies bool, specs ...orgSpec) *sim {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	now := time.Now()
	s := &sim{t: t, specs: map[string]orgSpec{}, streams: map[string]*scenario.Stream{}, injected: map[string]map[string]string{}}
	var opts []oktasim.OrgOptions
	for i, sp := range specs {
		oo := oktasim.OrgOptions{
			Name:   sp.name,
			Start:  now,
			Tokens: append([]string{token(sp.name)}, sp.extraTokens...),
			Clients: []oktasim.Client{
				{ID: "chaos-client-" + sp.name, Secret: secret(sp.name)},
				{ID: "chaos-jwt-" + sp.name, PublicKey: key.Public(), RequireDPoP: true},
			},
			RateLimit: oktasim.RateLimitOptions{PerMinute: cmp(sp.perMinute, hugeBucket)},
		}
		if sp.scenario != "" {
			st, err := scenario.New(scenario.Options{Org: sp.name, Seed: seed + int64(i), Users: 300, Scenario: sp.scenario, RiskShare: sp.riskShare})
			require.NoError(t, err)
			s.streams[sp.name] = st
			oo.Source, oo.EventsPerSecond = st, sp.eps
		}
		opts = append(opts, oo)
		s.specs[sp.name] = sp
		s.names = append(s.names, sp.name)
	}
	s.srv, err = oktasim.New(oktasim.Options{Orgs: opts, Seed: seed})
	require.NoError(t, err)
	s.served = &servedLog{next: s.srv, capture: captureBodies, pages: map[string][]servedPage{}}
	hs := httptest.NewServer(s.served)
	t.Cleanup(hs.Close)
	s.url = hs.URL

	der, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	s.keyFile = filepath.Join(t.TempDir(), "okta-service-app.pem")
	require.NoError(t, os.WriteFile(s.keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600))
	return s
}

func cmp(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

func token(org string) string  { return "chaos-token-" + org }
func secret(org string) string { return "chaos-secret-" + org }

func (s *sim) org(name string) *oktasim.Org { return s.srv.Org(name) }

// tenants returns the config of every org, with its spec's auth method.
func (s *sim) tenants() []tenantSpec {
	var out []tenantSpec
	for _, name := range s.names {
		t := tenantSpec{name: name, baseURL: s.srv.BaseURL(s.url, name), method: s.specs[name].auth}
		switch t.method {
		case authToken:
			t.token = token(name)
		case authSecret:
			t.clientID, t.clientSecret = "chaos-client-"+name, secret(name)
		case authJWT:
			t.clientID, t.keyFile = "chaos-jwt-"+name, s.keyFile
		default:
			s.t.Fatalf("org %s: unknown auth %q", name, t.method)
		}
		out = append(out, t)
	}
	return out
}

// inject appends raw events to an org's log, recording for each the
// category it must be kept under ("" when it need not be kept).
func (s *sim) inject(org string, events ...injectedEvent) {
	s.mu.Lock()
	m := s.injected[org]
	if m == nil {
		m = map[string]string{}
		s.injected[org] = m
	}
	raws := make([][]byte, len(events))
	for i, e := range events {
		raws[i] = e.raw
		if e.id != "" {
			m[e.id] = e.category
		}
	}
	s.mu.Unlock()
	s.org(org).Inject(raws...)
}

type injectedEvent struct {
	raw      []byte
	id       string // the id riskpipe stores it under ("" for none)
	category string // the category it must be kept under; "" when not kept
}

// injectedCategory says whether an event id was injected into org, and
// under which category it must be kept.
func (s *sim) injectedCategory(org, id string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.injected[org][id]
	return c, ok
}

func (s *sim) hasInjected(org string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.injected[org]) > 0
}

// servedLog wraps the simulator and records every /api/v1/logs answer:
// where its page started and ended in the org's log, its status, and (when
// capturing) whether a complete 200 body was invalid JSON, with that body.
type servedLog struct {
	next    http.Handler
	capture bool

	mu    sync.Mutex
	pages map[string][]servedPage // by org
}

type servedPage struct {
	began, ended time.Time
	status       int // 0: no answer (connection reset, client gone)
	after, since string
	principal    string // the SSWS token, or the Authorization scheme
	next         string // the after= of rel="next" ("" without one)
	cut          bool   // the body was shorter than its Content-Length (truncated fault)
	invalid      bool   // a complete 200 body that is not valid JSON
	body         []byte // invalid bodies only
}

func (l *servedLog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	org, ok := logsOrg(r.URL.Path)
	if !ok {
		l.next.ServeHTTP(w, r)
		return
	}
	cw := &captureWriter{ResponseWriter: w, capture: l.capture}
	q := r.URL.Query()
	p := servedPage{began: time.Now(), after: q.Get("after"), since: q.Get("since")}
	scheme, cred, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	p.principal = scheme
	if strings.EqualFold(scheme, "SSWS") {
		p.principal = cred
	}
	defer func() { // also when the handler aborts (truncated fault)
		p.ended = time.Now()
		p.status = cw.status
		for _, v := range cw.Header().Values("Link") {
			if target, rel, ok := strings.Cut(v, ";"); ok && strings.Contains(rel, `rel="next"`) {
				if u, err := url.Parse(strings.Trim(strings.TrimSpace(target), "<>")); err == nil {
					p.next = u.Query().Get("after")
				}
			}
		}
		if n, err := strconv.Atoi(cw.Header().Get("Content-Length")); err == nil && n != cw.written {
			p.cut = true
		}
		if l.capture && p.status == http.StatusOK && !p.cut && !json.Valid(cw.buf.Bytes()) {
			p.invalid, p.body = true, bytes.Clone(cw.buf.Bytes())
		}
		l.mu.Lock()
		l.pages[org] = append(l.pages[org], p)
		l.mu.Unlock()
	}()
	l.next.ServeHTTP(cw, r)
}

// logsOrg returns the org of a /o/{org}/api/v1/logs path (also the doubled
// prefix the okta SDK produces).
func logsOrg(path string) (string, bool) {
	rest, ok := strings.CutPrefix(path, "/o/")
	if !ok {
		return "", false
	}
	org, rest, ok := strings.Cut(rest, "/")
	if !ok {
		return "", false
	}
	if rest == "api/v1/logs" || rest == "o/"+org+"/api/v1/logs" {
		return org, true
	}
	return "", false
}

// snapshot returns the pages served to an org so far.
func (l *servedLog) snapshot(org string) []servedPage {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]servedPage(nil), l.pages[org]...)
}

type captureWriter struct {
	http.ResponseWriter
	capture bool
	status  int
	written int
	buf     bytes.Buffer
}

func (w *captureWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *captureWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.written += len(b)
	if w.capture {
		w.buf.Write(b)
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach Flush and Hijack (the reset
// and truncated faults).
func (w *captureWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// position is the log index a page request started at: its after cursor,
// or the first event persisted at or after its since.
func (s *sim) position(org string, p servedPage) int64 {
	if p.after != "" {
		return simtest.AfterIndex(s.t, p.after)
	}
	since, err := time.Parse(time.RFC3339Nano, p.since)
	require.NoError(s.t, err, "since %q", p.since)
	from, _ := s.org(org).TruthRange(since)
	return from
}

// tenantSpec is one tenant of a config.
type tenantSpec struct {
	name, baseURL, method         string
	token, clientID, clientSecret string
	keyFile                       string
}

// cfgSpec is a riskpipe config; zero values take the suite's defaults.
type cfgSpec struct {
	addr, db       string
	pageLimit      int    // default 200
	batchMaxWait   string // default riskpipe's (group commit)
	requestTimeout string // default 10s
	writeTimeout   string // default 10s
	tenants        []tenantSpec
}

func (c cfgSpec) yaml() string {
	// The interval is the config minimum, 1s.
	cfg := simtest.Config{Addr: c.addr, Database: c.db, DialTimeout: "2s", WriteTimeout: def(c.writeTimeout, "10s"),
		BatchMaxWait: c.batchMaxWait, Interval: "1s", PageLimit: c.pageLimit, RequestTimeout: def(c.requestTimeout, "10s")}
	if cfg.PageLimit == 0 {
		cfg.PageLimit = 200
	}
	for _, t := range c.tenants {
		cfg.Tenants = append(cfg.Tenants, simtest.Tenant{Name: t.name, BaseURL: t.baseURL, Method: t.method,
			Token: t.token, ClientID: t.clientID, ClientSecret: t.clientSecret, KeyFile: t.keyFile})
	}
	return cfg.YAML()
}

// def is v, or d when v is empty.
func def(v, d string) string {
	if v == "" {
		return d
	}
	return v
}

func writeConfig(t *testing.T, c cfgSpec) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "riskpipe.yaml")
	require.NoError(t, os.WriteFile(p, []byte(c.yaml()), 0o600))
	return p
}
