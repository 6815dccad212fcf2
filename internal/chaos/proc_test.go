package chaos

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

// binaryVersion is linked into the binary the suite builds.
const binaryVersion = "v0.0.0-chaos"

// buildBinary builds the real riskpipe binary (without the race detector,
// so that it runs at production speed even when the suite itself runs
// under -race).
func buildBinary(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(os.Getenv("GOROOT"), "bin", "go")
		if _, serr := os.Stat(goBin); serr != nil {
			t.Fatalf("no go binary on PATH or in $GOROOT/bin: %v", err)
		}
	}
	out := filepath.Join(t.TempDir(), "riskpipe")
	args := []string{"build", "-o", out, "-ldflags", "-X main.version=" + binaryVersion, "github.com/riskpipe/riskpipe/cmd/riskpipe"}
	start := time.Now()
	msg, err := exec.Command(goBin, args...).CombinedOutput()
	require.NoError(t, err, "go %s:\n%s", strings.Join(args, " "), msg)
	t.Logf("built %s in %s", out, time.Since(start).Round(time.Millisecond))
	return out
}

// proc is one riskpipe child process in its own process group, its output
// in a log file.
type proc struct {
	t    *testing.T
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	err  error // Wait's result, once done is closed
}

func startProc(t *testing.T, bin, logFile string, args ...string) *proc {
	t.Helper()
	f, err := os.Create(logFile)
	require.NoError(t, err)
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	// Own process group (killed as a whole); killed by the kernel if the
	// test process dies.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	p := &proc{t: t, cmd: cmd, log: logFile, done: make(chan struct{})}
	// Pdeathsig fires when the OS thread that forked the child ends, not
	// the process: a thread that a locked goroutine ends with (chserver
	// runs each ClickHouse on one, ended when that server stops) would
	// kill riskpipe if it had forked it. So the child is started and
	// waited for on a thread of its own, locked for the child's lifetime.
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with this goroutine, after the child
		if err := cmd.Start(); err != nil {
			f.Close()
			started <- err
			return
		}
		started <- nil
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	require.NoError(t, <-started)
	t.Cleanup(func() {
		p.signal(syscall.SIGKILL)
		<-p.done
		if t.Failed() {
			t.Logf("tail of %s:\n%s", filepath.Base(logFile), p.tail(40))
		}
	})
	return p
}

// signal signals the process group, unless the process has exited.
func (p *proc) signal(sig syscall.Signal) {
	select {
	case <-p.done:
	default:
		_ = syscall.Kill(-p.cmd.Process.Pid, sig)
	}
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// alive fails the test when the process has exited (it must run until the
// suite stops it).
func (p *proc) alive(what string) {
	p.t.Helper()
	if p.exited() {
		p.t.Fatalf("riskpipe exited (%s) while %s; tail of its log:\n%s", p.cmd.ProcessState, what, p.tail(60))
	}
}

// wait waits (at most deadline, a guard against hangs, not a speed
// assertion) for the process to end and returns its exit code, or -1 and
// the signal that killed it.
func (p *proc) wait(deadline time.Duration) (code int, sig syscall.Signal) {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(deadline):
		p.signal(syscall.SIGKILL)
		<-p.done
		p.t.Fatalf("riskpipe did not exit within %s; killed it. Tail of its log:\n%s", deadline, p.tail(40))
	}
	var ee *exec.ExitError
	if p.err != nil && !errors.As(p.err, &ee) {
		p.t.Fatalf("wait: %v", p.err)
	}
	ws := p.cmd.ProcessState.Sys().(syscall.WaitStatus)
	if ws.Signaled() {
		return -1, ws.Signal()
	}
	return ws.ExitStatus(), 0
}

// terminate sends SIGTERM and requires exit status 0 before the 30 s kill
// deadline; it returns how long the drain took.
func (p *proc) terminate() time.Duration {
	p.t.Helper()
	p.alive("being stopped")
	sent := time.Now()
	p.signal(syscall.SIGTERM)
	code, sig := p.wait(30 * time.Second)
	took := time.Since(sent)
	require.Equal(p.t, 0, code, "exit status after SIGTERM (signal %v); tail:\n%s", sig, p.tail(40))
	p.requireNoPanic()
	return took
}

// requireNoPanic fails when the log shows a Go panic or fatal error.
func (p *proc) requireNoPanic() {
	p.t.Helper()
	b, err := os.ReadFile(p.log)
	require.NoError(p.t, err)
	for _, marker := range []string{"panic:", "fatal error:", "WARNING: DATA RACE"} {
		if i := bytes.Index(b, []byte(marker)); i >= 0 {
			p.t.Fatalf("riskpipe log %s shows %q:\n%s", filepath.Base(p.log), marker, b[i:min(len(b), i+4000)])
		}
	}
}

func (p *proc) tail(n int) string {
	b, err := os.ReadFile(p.log)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// rssBytes is the process's resident set size (VmRSS of /proc/<pid>/status).
func (p *proc) rssBytes() (int64, error) {
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
	return 0, errors.New("no VmRSS in /proc status (zombie?)")
}
