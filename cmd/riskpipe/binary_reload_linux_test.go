package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/chserver"
	"github.com/riskpipe/riskpipe/internal/chtest"
	"github.com/riskpipe/riskpipe/internal/oktasim/scenario"
	"github.com/riskpipe/riskpipe/internal/simtest"
)

// testSIGHUPReload runs the real binary, then reloads its config file with
// SIGHUP: an invalid file is refused (the log names every problem by key
// path, `riskpipe status` says the reload was refused and why, the tenants
// go on), then a valid file adding a tenant is applied without a restart;
// then reload.watch is turned on and a change of the file alone is applied.
func testSIGHUPReload(t *testing.T, bin string, srv *chserver.Server) {
	fl := newFleet(t, simSettings{orgs: 3, scenario: scenario.ScenarioQuiet, seed: 13, eps: 20})
	db := chtest.NewDatabase(t, srv)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	listen := ln.Addr().String()
	require.NoError(t, ln.Close())

	dir := t.TempDir()
	yaml := func(tenants []tenantSpec) string {
		s := cfgSpec{addr: srv.Addr(), db: db, tenants: tenants}.yaml()
		return strings.Replace(s, "listen: \"\"", fmt.Sprintf("listen: %q", listen), 1)
	}
	all := fl.tenants()
	good := yaml(all[:2])
	cfg := filepath.Join(dir, "riskpipe.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte(good), 0o600))
	// status reads its own copy: the running file will be broken.
	statusCfg := filepath.Join(dir, "status.yaml")
	require.NoError(t, os.WriteFile(statusCfg, []byte(good), 0o600))

	p := startProc(t, bin, filepath.Join(dir, "run.log"), "run", "--config", cfg)
	st := simtest.OpenStore(t, chtest.Config(srv, db))
	simtest.WaitFor(t, time.Minute, "acme and globex integrated", func() (bool, string) {
		if p.Exited() {
			t.Fatalf("riskpipe exited:\n%s", p.Tail(40))
		}
		s := simtest.PollStates(t, st)
		return len(s) == 2, fmt.Sprintf("%d tenants in poll_state", len(s))
	})
	status := func() cliResult {
		return runCLI(context.Background(), "status", "--config", statusCfg)
	}

	// An invalid file: two problems.
	bad := strings.Replace(good, "interval: 1s", "interval: 10ms", 1) + "bogus: 1\n"
	require.NoError(t, os.WriteFile(cfg, []byte(bad), 0o600))
	p.Signal(syscall.SIGHUP)
	simtest.WaitFor(t, time.Minute, "the refused reload in riskpipe status", func() (bool, string) {
		r := status()
		return strings.Contains(r.stdout, "REFUSED"), r.String()
	})
	r := status()
	require.Contains(t, r.stdout, "config: the last reload (signal, ")
	require.Contains(t, r.stdout, "  poll.interval: ")
	require.Contains(t, r.stdout, "  bogus: ")
	log, err := os.ReadFile(p.Log())
	require.NoError(t, err)
	require.Regexp(t, `level=ERROR msg="config reload: the new configuration is invalid; keeping the running configuration" trigger=signal path=poll.interval`, string(log))
	require.Regexp(t, `level=ERROR msg="config reload: the new configuration is invalid; keeping the running configuration" trigger=signal path=bogus`, string(log))
	require.False(t, p.Exited())

	// A valid file with a third tenant.
	require.NoError(t, os.WriteFile(cfg, []byte(yaml(all)), 0o600))
	require.NoError(t, os.WriteFile(statusCfg, []byte(yaml(all)), 0o600))
	p.Signal(syscall.SIGHUP)
	simtest.WaitFor(t, time.Minute, "initech integrated after the reload", func() (bool, string) {
		s := simtest.PollStates(t, st)
		return len(s) == 3, fmt.Sprintf("%d tenants in poll_state", len(s))
	})
	simtest.WaitFor(t, time.Minute, "riskpipe status shows the reload", func() (bool, string) {
		r := status()
		return strings.Contains(r.stdout, "(last reload: signal, added: initech)"), r.String()
	})

	// reload.watch on (with SIGHUP), then a change of the file alone
	// reloads it: globex is disabled.
	watched := yaml(all) + "reload:\n  watch: true\n  debounce: 100ms\n"
	require.NoError(t, os.WriteFile(cfg, []byte(watched), 0o600))
	p.Signal(syscall.SIGHUP)
	simtest.WaitFor(t, time.Minute, "the watch on", func() (bool, string) {
		r := status()
		return strings.Contains(r.stdout, "(last reload: signal, changed: reload.watch, reload.debounce)"), r.String()
	})
	disabled := strings.Replace(watched, "  - name: \"globex\"\n", "  - name: \"globex\"\n    enabled: false\n", 1)
	require.NotEqual(t, watched, disabled)
	require.NoError(t, os.WriteFile(cfg, []byte(disabled), 0o600))
	simtest.WaitFor(t, time.Minute, "the watched change applied", func() (bool, string) {
		r := status()
		return strings.Contains(r.stdout, "(last reload: watch, disabled: globex)"), r.String()
	})
	p.Signal(syscall.SIGTERM)
	code, sig := p.Wait(time.Minute)
	require.Equal(t, 0, code, "exit status after SIGTERM (signal %v); tail:\n%s", sig, p.Tail(40))
	requireNoRace(t, p.Log())
}
