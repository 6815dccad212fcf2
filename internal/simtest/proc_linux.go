package simtest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Build builds the real riskpipe binary (./cmd/riskpipe) into a temporary
// directory of tb, with version linked in, and with the race detector when
// race is set (it halves throughput: tests that measure drains leave it
// off). It returns the binary's path.
func Build(tb testing.TB, version string, race bool) string {
	tb.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(os.Getenv("GOROOT"), "bin", "go")
		if _, serr := os.Stat(goBin); serr != nil {
			tb.Fatalf("no go binary on PATH or in $GOROOT/bin: %v", err)
		}
	}
	out := filepath.Join(tb.TempDir(), "riskpipe")
	args := []string{"build", "-o", out, "-ldflags", "-X main.version=" + version}
	if race {
		args = append(args, "-race")
	}
	args = append(args, "github.com/riskpipe/riskpipe/cmd/riskpipe")
	start := time.Now()
	msg, err := exec.Command(goBin, args...).CombinedOutput()
	require.NoError(tb, err, "go %s:\n%s", strings.Join(args, " "), msg)
	tb.Logf("built %s in %s: go %s", out, time.Since(start).Round(time.Millisecond), strings.Join(args, " "))
	return out
}

// Proc is one riskpipe child process in its own process group, its stdout
// and stderr in a log file.
type Proc struct {
	tb   testing.TB
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	err  error // Wait's result, once done is closed
}

// Start runs bin with args, its output in logFile; the test's cleanup
// kills what is left of it (and logs the log's tail when the test failed).
func Start(tb testing.TB, bin, logFile string, args ...string) *Proc {
	tb.Helper()
	f, err := os.Create(logFile)
	require.NoError(tb, err)
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	// Own process group (killed as a whole); killed by the kernel if the
	// test process dies.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	p := &Proc{tb: tb, cmd: cmd, log: logFile, done: make(chan struct{})}
	// Pdeathsig fires when the OS thread that forked the child ends, not
	// the process: a thread that a locked goroutine ends with (chserver
	// runs each ClickHouse on one, ended when that server stops) would
	// kill riskpipe if it had forked it. So the child is started and
	// waited for on a thread of its own, locked for the child's lifetime.
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with this goroutine, after the child
		if err := cmd.Start(); err != nil {
			_ = f.Close()
			started <- err
			return
		}
		started <- nil
		p.err = cmd.Wait()
		_ = f.Close()
		close(p.done)
	}()
	require.NoError(tb, <-started)
	tb.Cleanup(func() {
		p.Signal(syscall.SIGKILL)
		<-p.done
		if tb.Failed() {
			tb.Logf("tail of %s:\n%s", filepath.Base(logFile), p.Tail(40))
		}
	})
	return p
}

// PID is the process id (and process group id).
func (p *Proc) PID() int { return p.cmd.Process.Pid }

// Log is the path of the process's log file.
func (p *Proc) Log() string { return p.log }

// Signal signals the process group, unless the process has exited.
func (p *Proc) Signal(sig syscall.Signal) {
	select {
	case <-p.done:
	default:
		_ = syscall.Kill(-p.cmd.Process.Pid, sig)
	}
}

// Exited reports whether the process has exited.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Alive fails the test when the process has exited (it must run until the
// test stops it).
func (p *Proc) Alive(what string) {
	p.tb.Helper()
	if p.Exited() {
		p.tb.Fatalf("riskpipe exited (%s) while %s; tail of its log:\n%s", p.cmd.ProcessState, what, p.Tail(60))
	}
}

// Wait waits (at most deadline, a guard against hangs, not a speed
// assertion) for the process to end and returns its exit code, or -1 and
// the signal that killed it.
func (p *Proc) Wait(deadline time.Duration) (code int, sig syscall.Signal) {
	p.tb.Helper()
	select {
	case <-p.done:
	case <-time.After(deadline):
		p.Signal(syscall.SIGKILL)
		<-p.done
		p.tb.Fatalf("riskpipe did not exit within %s; killed it. Tail of its log:\n%s", deadline, p.Tail(40))
	}
	var ee *exec.ExitError
	if p.err != nil && !errors.As(p.err, &ee) {
		p.tb.Fatalf("wait: %v", p.err)
	}
	ws := p.cmd.ProcessState.Sys().(syscall.WaitStatus)
	if ws.Signaled() {
		return -1, ws.Signal()
	}
	return ws.ExitStatus(), 0
}

// runningLine is what riskpipe run logs once it has started (internal/app);
// its SIGTERM handler is installed long before.
const runningLine = "riskpipe running"

// WaitRunning waits (at most deadline, a hang guard) until riskpipe run
// logged that it is running. A SIGTERM before riskpipe installed its
// handler kills it with the default action, so a test that wants a drain
// waits for this first, however soon its other conditions hold (a restart
// with nothing left to read meets them at once).
func (p *Proc) WaitRunning(deadline time.Duration) {
	p.tb.Helper()
	end := time.Now().Add(deadline)
	for {
		b, err := os.ReadFile(p.log)
		require.NoError(p.tb, err)
		if bytes.Contains(b, []byte(runningLine)) {
			return
		}
		p.Alive("starting")
		if time.Now().After(end) {
			p.tb.Fatalf("riskpipe did not log %q within %s; tail of its log:\n%s", runningLine, deadline, p.Tail(40))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Terminate waits until riskpipe is running (WaitRunning, a minute), sends
// SIGTERM and requires exit status 0 before a 30 s kill deadline and a log
// without a panic; it returns how long the drain took.
func (p *Proc) Terminate() time.Duration {
	p.tb.Helper()
	p.Alive("being stopped")
	p.WaitRunning(time.Minute)
	sent := time.Now()
	p.Signal(syscall.SIGTERM)
	code, sig := p.Wait(30 * time.Second)
	took := time.Since(sent)
	require.Equal(p.tb, 0, code, "exit status after SIGTERM (signal %v); tail:\n%s", sig, p.Tail(40))
	p.RequireNoPanic()
	return took
}

// RequireNoPanic fails when the log shows a Go panic, a fatal error or a
// data race.
func (p *Proc) RequireNoPanic() {
	p.tb.Helper()
	b, err := os.ReadFile(p.log)
	require.NoError(p.tb, err)
	for _, marker := range []string{"panic:", "fatal error:", "WARNING: DATA RACE"} {
		if i := bytes.Index(b, []byte(marker)); i >= 0 {
			p.tb.Fatalf("riskpipe log %s shows %q:\n%s", filepath.Base(p.log), marker, b[i:min(len(b), i+4000)])
		}
	}
}

// Tail returns the last n lines of the log.
func (p *Proc) Tail(n int) string {
	b, err := os.ReadFile(p.log)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// RSS is the process's resident set size (VmRSS of /proc/<pid>/status).
func (p *Proc) RSS() (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:")
		if !ok {
			continue
		}
		fields := strings.Fields(rest) // "123456 kB"
		if len(fields) != 2 || fields[1] != "kB" {
			return 0, fmt.Errorf("VmRSS line %q", sc.Text())
		}
		kb, err := strconv.ParseInt(fields[0], 10, 64)
		return kb << 10, err
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, errors.New("no VmRSS in /proc status")
}
