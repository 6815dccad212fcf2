package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/config"
)

func commandNames() []string {
	var out []string
	for _, c := range commands() {
		out = append(out, c.name)
	}
	return out
}

// configCommands are the commands whose help lists --config.
func configCommands(t *testing.T) []string {
	var out []string
	for _, name := range commandNames() {
		r := runCLI(context.Background(), name, "--help")
		require.Equal(t, exitOK, r.code, "%s", r)
		if regexp.MustCompile(`(?m)^  -config\b`).MatchString(r.stdout) {
			out = append(out, name)
		}
	}
	require.Subset(t, out, []string{"run", "migrate", "check"})
	return out
}

func TestHelp(t *testing.T) {
	t.Parallel()
	type tc struct {
		give      []string
		wantUsage string // on stdout
	}
	tests := []tc{
		{give: []string{"--help"}, wantUsage: "Usage: riskpipe <command> [flags]"},
		{give: []string{"-h"}, wantUsage: "Usage: riskpipe <command> [flags]"},
		{give: []string{"help"}, wantUsage: "Usage: riskpipe <command> [flags]"},
	}
	for _, name := range commandNames() {
		tests = append(tests,
			tc{give: []string{name, "--help"}, wantUsage: "Usage: riskpipe " + name},
			tc{give: []string{name, "-h"}, wantUsage: "Usage: riskpipe " + name},
		)
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.give, " "), func(t *testing.T) {
			t.Parallel()
			r := runCLI(context.Background(), tt.give...)
			require.Equal(t, exitOK, r.code, "%s", r)
			require.Contains(t, r.stdout, tt.wantUsage, "%s", r)
			require.Empty(t, r.stderr, "help is not an error")
			if len(tt.give) == 1 { // the top-level usage lists every command
				for _, name := range commandNames() {
					require.Regexp(t, `(?m)^  `+name+` +\S`, r.stdout)
				}
				require.Contains(t, r.stdout, "Exit codes: 0 success, 1 runtime failure, 2 invalid usage or configuration.")
			}
		})
	}
}

// TestCommandHelpListsFlags pins the flags the README and docs promise.
func TestCommandHelpListsFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		give      string
		wantFlags []string
	}{
		{give: "run", wantFlags: []string{"-config", "-log-format"}},
		{give: "migrate", wantFlags: []string{"-config"}},
		{give: "check", wantFlags: []string{"-config", "-timeout"}},
		{give: "simulate", wantFlags: []string{"-listen", "-orgs", "-scenario", "-seed", "-eps", "-backlog", "-rate-limit", "-no-rate-limits"}},
		{give: "demo", wantFlags: []string{"-duration", "-orgs", "-eps", "-clickhouse-addr", "-database", "-http-listen"}},
	}
	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			t.Parallel()
			r := runCLI(context.Background(), tt.give, "--help")
			require.Equal(t, exitOK, r.code, "%s", r)
			for _, f := range tt.wantFlags {
				require.Regexp(t, `(?m)^  `+regexp.QuoteMeta(f)+`\b`, r.stdout)
			}
		})
	}
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	missing := filepath.Join(t.TempDir(), "missing.yaml")
	noTenants := writeFile(t, "no-tenants.yaml", "clickhouse:\n  addr: 127.0.0.1:1\n")
	tests := []struct {
		name       string
		give       []string
		wantStderr []string
	}{
		{name: "no arguments", give: nil, wantStderr: []string{"Usage: riskpipe <command> [flags]"}},
		{name: "unknown command", give: []string{"frobnicate"}, wantStderr: []string{`unknown command "frobnicate"`, "Usage: riskpipe <command> [flags]"}},
		{name: "flag before command", give: []string{"--config", "x.yaml"}, wantStderr: []string{`unknown command "--config"`}},
		{name: "version with argument", give: []string{"version", "extra"}, wantStderr: []string{"riskpipe version: unexpected arguments: extra"}},
		{name: "config flag without value", give: []string{"run", "--config"}, wantStderr: []string{"riskpipe run: flag needs an argument: -config"}},
		{name: "config file missing", give: []string{"check", "--config", missing}, wantStderr: []string{"riskpipe check: read config:", "missing.yaml"}},
		{name: "run without tenants", give: []string{"run", "--config", noTenants}, wantStderr: []string{"tenants: no tenant configured"}},
		{name: "positional argument", give: []string{"migrate", "--config", noTenants, "now"}, wantStderr: []string{"unexpected arguments: now"}},
		{name: "bad duration", give: []string{"check", "--config", noTenants, "--timeout", "soon"}, wantStderr: []string{`invalid value "soon" for flag -timeout`}},
		{name: "bad int", give: []string{"simulate", "--orgs", "many"}, wantStderr: []string{`invalid value "many" for flag -orgs`}},
		{name: "simulate zero orgs", give: []string{"simulate", "--orgs", "0"}, wantStderr: []string{"--orgs must be at least 1"}},
		{name: "simulate unknown scenario", give: []string{"simulate", "--scenario", "apocalypse", "--listen", "127.0.0.1:0"}, wantStderr: []string{"apocalypse"}},
		{name: "simulate key file missing", give: []string{"simulate", "--jwt-public-key-of", missing, "--listen", "127.0.0.1:0"}, wantStderr: []string{"missing.yaml"}},
		{name: "demo zero orgs", give: []string{"demo", "--orgs", "0"}, wantStderr: []string{"--orgs must be at least 1"}},
		{name: "demo bad duration", give: []string{"demo", "--duration", "forever"}, wantStderr: []string{`invalid value "forever" for flag -duration`}},
	}
	type tc = struct {
		name       string
		give       []string
		wantStderr []string
	}
	for _, name := range commandNames() {
		tests = append(tests, tc{name: name + " unknown flag", give: []string{name, "--no-such-flag"},
			wantStderr: []string{"riskpipe " + name + ": flag provided but not defined: -no-such-flag"}})
	}
	for _, name := range configCommands(t) {
		tests = append(tests, tc{name: name + " without config", give: []string{name},
			wantStderr: []string{"riskpipe " + name + ": --config is required"}})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := runCLI(context.Background(), tt.give...)
			require.Equal(t, exitUsage, r.code, "%s", r)
			for _, s := range tt.wantStderr {
				require.Contains(t, r.stderr, s, "%s", r)
			}
			// Errors go to stderr only: stdout stays clean for pipes.
			require.Empty(t, r.stdout, "%s", r)
		})
	}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	r := runCLI(context.Background(), "version")
	require.Equal(t, exitOK, r.code, "%s", r)
	require.Equal(t, "riskpipe "+version+"\n", r.stdout)
	require.Empty(t, r.stderr)
}

// badConfig has many problems at once, and secrets next to them.
const badConfig = `clickhouse:
  addr: "no-port"
  password: SEKRIT-clickhouse-password
  bogus_key: 1
poll:
  interval: 10x
  page_limit: 5000
tenants:
  - name: acme
    base_url: http://acme.okta.com
    auth:
      method: api_token
      token: SEKRIT-token-acme
  - name: acme
    base_url: https://acme2.okta.com
    auth:
      method: private_key_jwt
      client_id: 0oa1example
      token: SEKRIT-token-where-it-does-not-belong
  - name: Bad_Name
    base_url: https://bad.okta.com
    auth:
      method: client_secret
      client_id: 0oa2example
      client_secret: ${RISKPIPE_TEST_UNSET_VARIABLE}
  - name: initech
    base_url: https://initech.okta.com
    auth:
      method: client_secret
      client_id: 0oa3example
      client_secret: SEKRIT-client-secret-initech
      dpop: sometimes
log:
  level: verbose
`

// TestInvalidConfigListsEveryProblem: every command that reads a config
// exits 2 and names every problem by its key path, without any secret.
func TestInvalidConfigListsEveryProblem(t *testing.T) {
	t.Parallel()
	path := writeFile(t, "bad.yaml", badConfig)
	wantLines := []string{
		"clickhouse.addr: must be host:port",
		"clickhouse.bogus_key: unknown key",
		`poll.interval: invalid duration`,
		"poll.page_limit: must be between 1 and 1000",
		"tenants[0].base_url: http is allowed only for loopback hosts",
		"tenants[1].name: duplicate of tenants[0]",
		"tenants[1].auth.token: not allowed with method private_key_jwt",
		"tenants[1].auth: private_key_file or private_key is required",
		"tenants[2].name: must match",
		"tenants[2].auth.client_secret: environment variable RISKPIPE_TEST_UNSET_VARIABLE is not set",
		"tenants[3].auth.dpop:",
		"log.level: must be debug, info, warn or error",
	}
	// The config package's own list: the CLI must print all of it.
	_, err := config.Load(path, func(string) (string, bool) { return "", false })
	var cerr *config.Error
	require.True(t, errors.As(err, &cerr), "config.Load: %v", err)
	require.Len(t, cerr.Problems, len(wantLines), "%v", err)

	for _, cmd := range configCommands(t) {
		t.Run(cmd, func(t *testing.T) {
			r := runCLI(context.Background(), cmd, "--config", path)
			require.Equal(t, exitUsage, r.code, "%s", r)
			for _, w := range wantLines {
				require.Contains(t, r.stderr, w, "%s", r)
			}
			for _, p := range cerr.Problems {
				require.Contains(t, r.stderr, p.String())
			}
			requireNoSecret(t, r)
			require.Empty(t, r.stdout, "%s", r)
		})
	}
}

// TestEveryCommandIsDocumentedInREADME: a command added to the table is
// also added to the README's command list.
func TestEveryCommandIsDocumentedInREADME(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	for _, name := range commandNames() {
		require.True(t, strings.Contains(string(readme), "riskpipe "+name), "README.md does not show the %s command (no %q)", name, "riskpipe "+name)
	}
}
