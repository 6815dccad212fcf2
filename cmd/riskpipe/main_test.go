package main

import (
	"bytes"
	"cmp"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/chtest"
	"github.com/riskpipe/riskpipe/internal/oktasim"
	"github.com/riskpipe/riskpipe/internal/oktasim/scenario"
	"github.com/riskpipe/riskpipe/internal/simtest"
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
	cfg := simtest.Config{Addr: c.addr, Database: c.db, Password: c.password, BatchMaxWait: cmp.Or(c.batchMaxWait, "20ms"),
		Interval: cmp.Or(c.interval, "1s"), PageLimit: cmp.Or(c.pageLimit, 1000), RequestTimeout: "10s", LogLevel: c.logLevel}
	for _, t := range c.tenants {
		cfg.Tenants = append(cfg.Tenants, simtest.Tenant{Name: t.name, BaseURL: t.baseURL, Method: t.method,
			Token: t.token, ClientID: t.clientID, ClientSecret: t.clientSecret,
			KeyFile: t.keyFile, KeyID: t.keyID, KeyInline: t.keyInline, Extra: t.extra})
	}
	return cfg.YAML()
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

// orgTruth is the ground truth of org integrated at since, up to log
// index to: its generated events judged by the scenario.
func orgTruth(t *testing.T, f *fleet, org string, since time.Time, to int64) simtest.Truth {
	t.Helper()
	return simtest.OrgTruth(t, f.org(org), since, to, simtest.TruthOptions{Stream: f.streams[org]})
}
