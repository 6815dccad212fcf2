package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/chtest"
	"github.com/riskpipe/riskpipe/internal/oktasim/scenario"
	"github.com/riskpipe/riskpipe/internal/simtest"
	"github.com/riskpipe/riskpipe/internal/store"
)

func TestMigrateIsIdempotent(t *testing.T) {
	srv := chtest.Start(t)
	db := chtest.NewDatabase(t, srv)
	cfg := writeConfig(t, cfgSpec{addr: srv.Addr(), db: db})
	migs, err := store.Migrations()
	require.NoError(t, err)
	known := migs[len(migs)-1].Version

	for i := range 2 {
		r := runCLI(context.Background(), "migrate", "--config", cfg)
		require.Equal(t, exitOK, r.code, "run %d: %s", i+1, r)
		require.Equal(t, fmt.Sprintf("schema of database %s is at version %d\n", db, known), r.stdout, "run %d", i+1)
	}
	st := simtest.OpenStore(t, chtest.Config(srv, db))
	cur, _, err := st.SchemaVersion(context.Background())
	require.NoError(t, err)
	require.Equal(t, known, cur)
	var tables uint64
	require.NoError(t, st.Conn().QueryRow(context.Background(),
		"SELECT count() FROM system.tables WHERE database = ? AND name IN ('risk_events', 'poll_state', 'dead_letters', 'event_type_counts')", db).Scan(&tables))
	require.EqualValues(t, 4, tables)
}

func TestMigrateUnreachableClickHouse(t *testing.T) {
	t.Parallel()
	cfg := writeConfig(t, cfgSpec{addr: "127.0.0.1:1", db: "x", password: secretMark + "-ch-password"})
	r := runCLI(context.Background(), "migrate", "--config", cfg)
	require.Equal(t, exitRuntime, r.code, "%s", r)
	require.Contains(t, r.stderr, "riskpipe migrate: open clickhouse at 127.0.0.1:1")
	requireNoSecret(t, r)
}

// checkLine matches the line check prints for what (a tenant or
// clickhouse): ok, or FAIL with a reason.
func checkLine(what, verdict string) *regexp.Regexp {
	return regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(what) + ` +` + verdict)
}

// TestCheck runs check against the simulator (an API token org, a
// client_secret org and a private_key_jwt org that requires DPoP) and
// ClickHouse, with one thing broken at a time.
func TestCheck(t *testing.T) {
	srv := chtest.Start(t)
	fl := newFleet(t, simSettings{orgs: 3, scenario: scenario.ScenarioQuiet, seed: 3, eps: 5})
	migrated := chtest.NewDatabase(t, srv)
	unmigrated := chtest.NewDatabase(t, srv)
	r := runCLI(context.Background(), "migrate", "--config", writeConfig(t, cfgSpec{addr: srv.Addr(), db: migrated}))
	require.Equal(t, exitOK, r.code, "%s", r)

	otherKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	der, err := x509.MarshalPKCS8PrivateKey(otherKey)
	require.NoError(t, err)
	otherKeyFile := filepath.Join(t.TempDir(), "not-registered.pem")
	require.NoError(t, os.WriteFile(otherKeyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600))

	chLine := "clickhouse " + srv.Addr()
	tests := []struct {
		name     string
		db       string
		addr     string
		password string
		timeout  string                // default 20s
		change   func(ts []tenantSpec) // breaks something
		wantCode int
		want     []*regexp.Regexp
	}{
		{
			name: "all ok", db: migrated, wantCode: exitOK,
			want: []*regexp.Regexp{
				regexp.MustCompile(`(?m)^config .*riskpipe\.yaml: ok \(3 tenants\)$`),
				checkLine(chLine, `ok$`),
				checkLine("tenant acme", `ok$`), checkLine("tenant globex", `ok$`), checkLine("tenant initech", `ok$`),
			},
		},
		{
			name: "wrong api token", db: migrated, wantCode: exitRuntime,
			change: func(ts []tenantSpec) { ts[0].token = secretMark + "-wrong-token" },
			want: []*regexp.Regexp{
				checkLine(chLine, `ok$`),
				checkLine("tenant acme", `FAIL  okta authentication failed: status 401: E0000011: Invalid token provided$`),
				checkLine("tenant globex", `ok$`), checkLine("tenant initech", `ok$`),
			},
		},
		{
			name: "wrong client secret", db: migrated, wantCode: exitRuntime,
			change: func(ts []tenantSpec) { ts[1].clientSecret = secretMark + "-wrong-client-secret" },
			want: []*regexp.Regexp{
				checkLine("tenant acme", `ok$`),
				checkLine("tenant globex", `FAIL  okta authentication failed: .*invalid_client`),
				checkLine("tenant initech", `ok$`),
			},
		},
		{
			name: "private key not registered", db: migrated, wantCode: exitRuntime,
			change: func(ts []tenantSpec) { ts[2].keyFile = otherKeyFile },
			want: []*regexp.Regexp{
				checkLine("tenant acme", `ok$`), checkLine("tenant globex", `ok$`),
				checkLine("tenant initech", `FAIL  okta authentication failed: .*invalid_client`),
			},
		},
		{
			name: "unknown client id", db: migrated, wantCode: exitRuntime,
			change: func(ts []tenantSpec) { ts[2].clientID = "0oa-no-such-app" },
			want:   []*regexp.Regexp{checkLine("tenant initech", `FAIL  okta authentication failed`)},
		},
		{
			name: "disabled tenant is skipped", db: migrated, wantCode: exitOK,
			change: func(ts []tenantSpec) { ts[0].token = secretMark + "-wrong-token"; ts[0].extra = "    enabled: false\n" },
			want:   []*regexp.Regexp{checkLine("tenant acme", `skipped \(disabled\)$`), checkLine("tenant globex", `ok$`)},
		},
		{
			// `run` migrates at start: check says so and does not fail.
			name: "unmigrated database", db: unmigrated, wantCode: exitOK,
			want: []*regexp.Regexp{
				checkLine(chLine, `ok  \(database \w+ at schema version 0 of \d+: 'riskpipe run' migrates it at start\)$`),
				checkLine("tenant acme", `ok$`), checkLine("tenant globex", `ok$`), checkLine("tenant initech", `ok$`),
			},
		},
		{
			name: "clickhouse unreachable", db: migrated, addr: "127.0.0.1:1", wantCode: exitRuntime,
			want: []*regexp.Regexp{checkLine("clickhouse 127.0.0.1:1", `FAIL  `), checkLine("tenant acme", `ok$`)},
		},
		{
			name: "wrong clickhouse password", db: migrated, password: secretMark + "-clickhouse-password", wantCode: exitRuntime,
			want: []*regexp.Regexp{checkLine(chLine, `FAIL  `), checkLine("tenant acme", `ok$`)},
		},
		{
			name: "org unreachable", db: migrated, wantCode: exitRuntime, timeout: "2s",
			change: func(ts []tenantSpec) { ts[1].baseURL = "http://127.0.0.1:1/o/globex" },
			want:   []*regexp.Regexp{checkLine("tenant globex", `FAIL  `), checkLine("tenant acme", `ok$`)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := fl.tenants()
			if tt.change != nil {
				tt.change(ts)
			}
			addr := srv.Addr()
			if tt.addr != "" {
				addr = tt.addr
			}
			cfg := writeConfig(t, cfgSpec{addr: addr, db: tt.db, password: tt.password, tenants: ts})
			timeout := "20s"
			if tt.timeout != "" {
				timeout = tt.timeout
			}
			r := runCLI(context.Background(), "check", "--config", cfg, "--timeout", timeout)
			t.Logf("%s", r.stdout)
			require.Equal(t, tt.wantCode, r.code, "%s", r)
			for _, re := range tt.want {
				require.Regexp(t, re, r.stdout, "%s", r)
			}
			if tt.wantCode != exitOK {
				require.Regexp(t, `riskpipe check: \d+ check\(s\) failed`, r.stderr)
			}
			requireNoSecret(t, r, fl.keyLines()...)
		})
	}
}

// TestSecretsNeverPrinted runs every command that reads a config, with
// debug logging, succeeding and failing, and looks for the credentials in
// everything it printed.
func TestSecretsNeverPrinted(t *testing.T) {
	srv := chtest.Start(t)
	fl := newFleet(t, simSettings{orgs: 3, scenario: scenario.ScenarioDemo, seed: 5, eps: 50})
	db := chtest.NewDatabase(t, srv)

	good := fl.tenants()
	// The private_key_jwt org's key inline, and the API token from the
	// environment, as production configs do.
	good[2].keyFile, good[2].keyInline = "", string(fl.keyPEM)
	t.Setenv("RISKPIPE_TEST_ACME_TOKEN", secretToken("acme"))
	good[0].token = "${RISKPIPE_TEST_ACME_TOKEN}"
	bad := fl.tenants()
	bad[0].token = secretMark + "-expired-token-acme"
	bad[1].clientSecret = secretMark + "-rotated-secret-globex"
	t.Setenv("RISKPIPE_CHECK_VERBOSE", "1") // check logs at debug level to stderr

	goodCfg := writeConfig(t, cfgSpec{addr: srv.Addr(), db: db, logLevel: "debug", tenants: good})
	badCfg := writeConfig(t, cfgSpec{addr: srv.Addr(), db: db, logLevel: "debug", tenants: bad})
	badCHCfg := writeConfig(t, cfgSpec{addr: srv.Addr(), db: db, logLevel: "debug", password: secretMark + "-ch-password", tenants: good})
	secrets := fl.keyLines()

	for _, tt := range []struct {
		args     []string
		wantCode int
	}{
		{args: []string{"migrate", "--config", goodCfg}, wantCode: exitOK},
		{args: []string{"migrate", "--config", badCHCfg}, wantCode: exitRuntime},
		{args: []string{"check", "--config", goodCfg}, wantCode: exitOK},
		{args: []string{"check", "--config", badCfg}, wantCode: exitRuntime},
		{args: []string{"check", "--config", badCHCfg}, wantCode: exitRuntime},
		{args: []string{"run", "--config", goodCfg, "--help"}, wantCode: exitOK},
	} {
		r := runCLI(context.Background(), tt.args...)
		require.Equal(t, tt.wantCode, r.code, "%v: %s", tt.args, r)
		requireNoSecret(t, r, secrets...)
	}
	// Every other command that reads a config, whatever it answers.
	for _, cmd := range configCommands(t) {
		if cmd == "run" || cmd == "migrate" || cmd == "check" {
			continue
		}
		for _, cfg := range []string{goodCfg, badCfg, badCHCfg} {
			requireNoSecret(t, runCLI(context.Background(), cmd, "--config", cfg), secrets...)
		}
	}

	// run, working: until every org served events.
	before := fl.sim.Stats()
	r := runUntil(t, goodCfg, func() (bool, string) {
		st := fl.sim.Stats()
		for _, o := range fl.orgs {
			if st[o].EventsServed == before[o].EventsServed {
				return false, fmt.Sprintf("%s served no events yet", o)
			}
		}
		return true, ""
	})
	require.Equal(t, exitOK, r.code, "%s", r)
	require.Contains(t, r.stderr, "level=DEBUG", "run logged at debug level")
	requireNoSecret(t, r, secrets...)

	// run, rejected: until both broken orgs were refused.
	before = fl.sim.Stats()
	r = runUntil(t, badCfg, func() (bool, string) {
		st := fl.sim.Stats()
		for _, o := range fl.orgs[:2] {
			if st[o].Requests[401] == before[o].Requests[401] {
				return false, fmt.Sprintf("%s: no 401 yet: %v", o, st[o].Requests)
			}
		}
		return true, ""
	})
	require.Equal(t, exitOK, r.code, "%s", r)
	require.Regexp(t, `tenant=acme.*status 401`, r.stderr, "the refusal was logged: %s", r)
	requireNoSecret(t, r, secrets...)
}

// runUntil runs `riskpipe run` in-process until cond holds, then cancels
// it as SIGTERM would, and returns what it printed.
func runUntil(t *testing.T, cfg string, cond func() (bool, string)) cliResult {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan cliResult, 1)
	go func() { done <- runCLI(ctx, "run", "--config", cfg) }()
	end := time.Now().Add(90 * time.Second)
	for {
		select {
		case r := <-done:
			t.Fatalf("run returned on its own: %s", r)
		default:
		}
		if ok, _ := cond(); ok {
			break
		}
		if time.Now().After(end) {
			cancel()
			r := <-done
			_, status := cond()
			t.Fatalf("run: condition not reached (%s):\n%s", status, r)
		}
		time.Sleep(100 * time.Millisecond)
	}
	cancel()
	return <-done
}

// TestRunStopsCleanlyDuringStartup: a stop requested while run still waits
// for ClickHouse is a clean stop (exit 0), like one after start-up.
func TestRunStopsCleanlyDuringStartup(t *testing.T) {
	t.Parallel()
	cfg := writeConfig(t, cfgSpec{addr: "127.0.0.1:1", db: "okta_risk", tenants: []tenantSpec{
		{name: "acme", baseURL: "http://127.0.0.1:1/o/acme", method: "api_token", token: secretToken("acme")}}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan cliResult, 1)
	var stderr syncBuffer
	go func() {
		var stdout syncBuffer
		code := run(ctx, []string{"run", "--config", cfg, "--log-format", "json"}, &stdout, &stderr)
		done <- cliResult{code: code, stdout: stdout.String(), stderr: stderr.String()}
	}()
	simtest.WaitFor(t, time.Minute, "run to wait for ClickHouse", func() (bool, string) {
		return strings.Contains(stderr.String(), "clickhouse not reachable; retrying"), stderr.String()
	})
	cancel()
	r := <-done
	require.Equal(t, exitOK, r.code, "%s", r)
	requireNoSecret(t, r)
	for _, line := range strings.Split(strings.TrimSpace(r.stderr), "\n") {
		require.True(t, json.Valid([]byte(line)), "--log-format json: not a JSON line: %s", line)
	}
}
