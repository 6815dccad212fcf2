package main

import (
	"context"
	"fmt"
	"net"
	"testing"

	"github.com/emersion/go-smtp"
	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/chtest"
)

// TestContactsCommands: list, review and test against a real ClickHouse
// and a real SMTP server on loopback; a contact on a closed SMTP port is
// reported as failed (exit 1) and shown by `riskpipe status`.
func TestContactsCommands(t *testing.T) {
	srv := chtest.Start(t)
	db := chtest.NewDatabase(t, srv)
	sink := &countingSink{byID: map[string]int{}, subj: map[string]string{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ss := smtp.NewServer(sink)
	ss.Domain = "localhost"
	done := make(chan struct{})
	go func() { defer close(done); _ = ss.Serve(ln) }()
	host, port, _ := net.SplitHostPort(ln.Addr().String())

	y := fmt.Sprintf(`clickhouse: {addr: %q, database: %q}
notify:
  smtp: {host: %s, port: %s, from: riskpipe@test.example, tls: none}
tenants:
  - name: acme
    base_url: https://acme.okta.com
    auth: {method: api_token, token: t}
    contacts:
      primary_security: [{name: Acme SecOps, email: secops@acme.example}]
      cio_ciso: [{name: Jane Roe, email: ciso@acme.example}, {name: John Roe, email: cfo@acme.example}]
  - name: globex
    base_url: https://globex.okta.com
    auth: {method: api_token, token: t}
`, srv.Addr(), db, host, port)
	cfg := writeFile(t, "riskpipe.yaml", y)
	ctx := context.Background()

	r := runCLI(ctx, "contacts", "list", "--config", cfg)
	require.Equal(t, exitRuntime, r.code, "schema missing: %s", r)
	require.Contains(t, r.stderr, "riskpipe migrate")
	require.Equal(t, exitOK, runCLI(ctx, "migrate", "--config", cfg).code)

	r = runCLI(ctx, "contacts", "list", "--config", cfg)
	require.Equal(t, exitOK, r.code, "%s", r)
	require.Regexp(t, `acme\s+primary_security\s+Acme SecOps\s+secops@acme.example`, r.stdout)
	require.Regexp(t, `globex\s+-\s+\(no contacts\)`, r.stdout)
	require.Contains(t, r.stdout, "acme: never reviewed")
	require.Contains(t, r.stderr, "warning: tenants[0].contacts.cio_ciso: 2 contacts; one is recommended")
	require.Contains(t, r.stderr, "warning: tenants[1].contacts.primary_security: no primary security contact")

	r = runCLI(ctx, "contacts", "review", "--config", cfg, "--tenant", "acme", "--by", "jane")
	require.Equal(t, exitOK, r.code, "%s", r)
	require.Contains(t, r.stdout, "acme: contacts reviewed by jane at ")
	r = runCLI(ctx, "contacts", "list", "--config", cfg, "--tenant", "acme")
	require.Contains(t, r.stdout, "acme: reviewed ")
	require.Contains(t, r.stdout, " by jane; review due ")
	require.NotContains(t, r.stdout, "globex")

	r = runCLI(ctx, "contacts", "test", "--config", cfg, "--tenant", "acme")
	require.Equal(t, exitOK, r.code, "%s", r)
	for _, to := range []string{"secops@acme.example", "ciso@acme.example", "cfo@acme.example"} {
		require.Contains(t, r.stdout, "acme: email "+to+": sent")
	}
	messages, _, _ := sink.totals()
	require.Equal(t, 3, messages)

	// SMTP down: every delivery reported failed, exit 1, and status shows it.
	ss.Close()
	ln.Close()
	<-done
	r = runCLI(ctx, "contacts", "test", "--config", cfg, "--tenant", "acme")
	require.Equal(t, exitRuntime, r.code, "%s", r)
	require.Contains(t, r.stdout, "acme: email secops@acme.example: failed (")
	r = runCLI(ctx, "status", "--config", cfg)
	require.Contains(t, r.stdout, "Notification deliveries failing (last 24h):")
	require.Contains(t, r.stdout, "secops@acme.example")

	r = runCLI(ctx, "contacts", "frob", "--config", cfg)
	require.Equal(t, exitUsage, r.code)
	require.Contains(t, r.stderr, `unknown subcommand "frob"`)
}
