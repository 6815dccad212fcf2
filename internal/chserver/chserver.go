// Package chserver runs a private clickhouse-server as a child process: its
// own config, data directory and loopback ports. Tests use it through
// internal/chtest; `riskpipe run` uses it when clickhouse.managed is set.
//
// It works with Debian's ClickHouse 18.16 (clickhouse-server) and with the
// single `clickhouse` binary of current versions (`clickhouse server`).
package chserver

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
)

// Options configure Start.
type Options struct {
	// DataDir holds the generated config, data and logs. Empty: a new
	// temporary directory that Stop removes.
	DataDir string
	// Binary is clickhouse-server or clickhouse. Empty: found by Available.
	Binary string
	// TCPPort (native protocol) and HTTPPort; 0 picks a free port.
	TCPPort, HTTPPort int
	// StopTimeout is how long Stop waits after SIGTERM before SIGKILL
	// (default 15s).
	StopTimeout time.Duration
	Logger      *slog.Logger
	// QueryLog turns on system.query_log with every query logged
	// (log_queries), e.g. to capture the statements tests send
	// (internal/chtest, RISKPIPE_SQL_CAPTURE).
	QueryLog bool
}

// Server is a running clickhouse-server child process, or an external
// server attached with Attach.
type Server struct {
	addr, httpAddr string
	dataDir        string
	removeDir      bool
	logger         *slog.Logger
	stopTimeout    time.Duration
	lay            layout
	marker         string // this start's riskpipe_server macro

	proc *os.Process   // nil for an attached server
	done chan struct{} // closed when the process has exited
	exit error         // the process's exit status, valid after done

	stopOnce sync.Once
	stopErr  error
}

// ErrNotFound is returned by Start when no ClickHouse binary is found.
var ErrNotFound = errors.New("clickhouse server binary not found (apt-get install -y clickhouse-server clickhouse-client)")

// Well-known places of the server binary. Debian's package puts
// clickhouse-server in /usr/sbin, which a normal user's PATH may lack.
var knownPaths = []string{
	"/usr/bin/clickhouse-server",
	"/usr/sbin/clickhouse-server",
	"/usr/bin/clickhouse",
	"/usr/local/bin/clickhouse-server",
	"/usr/local/bin/clickhouse",
}

// Available finds the server binary: binary itself when given (a path or a
// name on PATH), else clickhouse-server or clickhouse on PATH, else the
// places Debian and the official packages install to.
func Available(binary string) (string, bool) {
	if binary != "" {
		p, err := exec.LookPath(binary)
		return p, err == nil
	}
	for _, name := range []string{"clickhouse-server", "clickhouse"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, true
		}
	}
	for _, p := range knownPaths {
		if isExecutable(p) {
			return p, true
		}
	}
	return "", false
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

// Attach returns a Server for a ClickHouse already running at addr
// (host:port of the native protocol). Its Stop does nothing.
func Attach(addr string) *Server {
	done := make(chan struct{})
	close(done)
	return &Server{addr: addr, done: done}
}

// Start writes the server's config under o.DataDir, starts the process and
// waits until it answers `SELECT 1`, or ctx ends (at most 2 minutes when
// ctx has no deadline). On failure the error carries the tail of the
// server's log and no process is left running.
func Start(ctx context.Context, o Options) (*Server, error) {
	bin, ok := Available(o.Binary)
	if !ok {
		if o.Binary != "" {
			return nil, fmt.Errorf("%w: %s", ErrNotFound, o.Binary)
		}
		return nil, ErrNotFound
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.StopTimeout <= 0 {
		o.StopTimeout = 15 * time.Second
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
	}

	dir, removeDir := o.DataDir, false
	if dir == "" {
		d, err := os.MkdirTemp("", "riskpipe-clickhouse-*")
		if err != nil {
			return nil, fmt.Errorf("create data dir: %w", err)
		}
		dir, removeDir = d, true
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}

	// Ports picked here may be taken by someone else before the server
	// binds them; a server that exits during start-up is then retried
	// with fresh ports.
	attempts := 1
	if o.TCPPort == 0 && o.HTTPPort == 0 {
		attempts = 3
	}
	for i := 1; ; i++ {
		s, err := start(ctx, bin, abs, o)
		if err == nil {
			s.removeDir = removeDir
			return s, nil
		}
		var ee *exitedError
		if i >= attempts || !errors.As(err, &ee) || ctx.Err() != nil {
			if removeDir {
				_ = os.RemoveAll(abs)
			}
			return nil, err
		}
		o.Logger.Debug("clickhouse server exited during start-up, retrying with new ports", "err", err)
	}
}

// exitedError: the process ended before it answered.
type exitedError struct{ err error }

func (e *exitedError) Error() string { return "exited during start-up: " + e.err.Error() }
func (e *exitedError) Unwrap() error { return e.err }

func start(ctx context.Context, bin, dir string, o Options) (*Server, error) {
	tcpPort, httpPort := o.TCPPort, o.HTTPPort
	var err error
	if tcpPort == 0 {
		if tcpPort, err = freePort(); err != nil {
			return nil, err
		}
	}
	if httpPort == 0 {
		if httpPort, err = freePort(); err != nil {
			return nil, err
		}
	}
	// A port picked by freePort may be bound by another server started
	// at the same time (or an older one still running): the marker tells
	// this start's server from any other answering on the port.
	marker := newMarker()
	lay := newLayout(dir)
	if err := lay.write(tcpPort, httpPort, marker, o.QueryLog); err != nil {
		return nil, err
	}
	// The error log tells why this start fails, not an earlier one.
	if err := os.Truncate(lay.errLog, 0); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("truncate error log: %w", err)
	}
	console, err := os.OpenFile(lay.console, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o640)
	if err != nil {
		return nil, fmt.Errorf("open console log: %w", err)
	}
	defer console.Close() // the child has its own copy

	var args []string
	if filepath.Base(bin) == "clickhouse" {
		args = append(args, "server")
	}
	args = append(args, "--config-file="+lay.configFile)

	s := &Server{
		addr:        net.JoinHostPort("127.0.0.1", strconv.Itoa(tcpPort)),
		httpAddr:    net.JoinHostPort("127.0.0.1", strconv.Itoa(httpPort)),
		dataDir:     dir,
		logger:      o.Logger,
		stopTimeout: o.StopTimeout,
		lay:         lay,
		marker:      marker,
		done:        make(chan struct{}),
	}

	// The process is started and waited for on one locked OS thread:
	// Pdeathsig fires when the thread that forked the child ends, so that
	// thread must live exactly as long as the child.
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with this goroutine
		cmd := exec.Command(bin, args...)
		cmd.Dir = dir
		cmd.Stdin = nil
		cmd.Stdout = console
		cmd.Stderr = console
		// No watchdog fork in current versions: one process to signal.
		cmd.Env = append(os.Environ(), "CLICKHOUSE_WATCHDOG_ENABLE=0")
		cmd.SysProcAttr = sysProcAttr()
		if err := cmd.Start(); err != nil {
			started <- err
			close(s.done)
			return
		}
		s.proc = cmd.Process
		started <- nil
		s.exit = cmd.Wait()
		close(s.done)
	}()
	if err := <-started; err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	o.Logger.Debug("clickhouse server starting", "binary", bin, "addr", s.addr, "data_dir", dir, "pid", s.proc.Pid)

	if err := s.waitReady(ctx); err != nil {
		_ = s.Stop()
		return nil, fmt.Errorf("clickhouse server %s (%s): %w%s", s.addr, bin, err, s.logTail())
	}
	o.Logger.Info("clickhouse server ready", "addr", s.addr, "data_dir", dir, "pid", s.proc.Pid)
	return s, nil
}

// waitReady polls the server's marker until the server started here
// answers with it, the process exits or ctx ends. Any other answer on the
// port (another server that holds it) is not readiness: this process then
// fails to bind and exits, and Start retries with new ports.
func (s *Server) waitReady(ctx context.Context) error {
	conn, err := clickhouse.Open(&clickhouse.Options{
		Addr:         []string{s.addr},
		DialTimeout:  time.Second,
		MaxOpenConns: 1,
	})
	if err != nil {
		return err
	}
	defer conn.Close()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		select {
		case <-s.done:
			return &exitedError{err: fmt.Errorf("%v", s.exit)}
		default:
		}
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		var marker string
		last = conn.QueryRow(pctx, "SELECT substitution FROM system.macros WHERE macro = 'riskpipe_server'").Scan(&marker)
		cancel()
		if last == nil && marker == s.marker {
			return nil
		}
		if last == nil {
			last = fmt.Errorf("another clickhouse server answers on %s (marker %q, not this start's)", s.addr, marker)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not ready: %w (last error: %v)", ctx.Err(), last)
		case <-s.done:
			return &exitedError{err: fmt.Errorf("%v", s.exit)}
		case <-tick.C:
		}
	}
}

// newMarker is a random value naming one start of a server.
func newMarker() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Addr is the native protocol address, 127.0.0.1:port.
func (s *Server) Addr() string { return s.addr }

// HTTPAddr is the HTTP interface address (empty for an attached server).
func (s *Server) HTTPAddr() string { return s.httpAddr }

// DataDir is the directory holding the config, data and logs (empty for an
// attached server).
func (s *Server) DataDir() string { return s.dataDir }

// PID is the server process id (0 for an attached server).
func (s *Server) PID() int {
	if s.proc == nil {
		return 0
	}
	return s.proc.Pid
}

// Done is closed when the server process has exited.
func (s *Server) Done() <-chan struct{} { return s.done }

// Stop sends SIGTERM, waits for the process to exit and sends SIGKILL after
// the stop timeout. It is idempotent and returns the same result each time.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() { s.stopErr = s.stop() })
	return s.stopErr
}

func (s *Server) stop() error {
	if s.proc == nil { // attached, or never started
		return nil
	}
	var err error
	select {
	case <-s.done: // already gone
	default:
		_ = terminate(s.proc)
		t := time.NewTimer(s.stopTimeout)
		select {
		case <-s.done:
			t.Stop()
		case <-t.C:
			_ = kill(s.proc)
			<-s.done
			err = fmt.Errorf("clickhouse server %s: killed after not stopping within %s", s.addr, s.stopTimeout)
		}
	}
	s.logger.Debug("clickhouse server stopped", "addr", s.addr, "exit", s.exit)
	if s.removeDir {
		if rerr := os.RemoveAll(s.dataDir); rerr != nil && err == nil {
			err = fmt.Errorf("remove data dir: %w", rerr)
		}
	}
	return err
}

// freePort asks the kernel for a free loopback port.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pick a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// logTail returns the last lines of the server's error log, main log and
// console output, for error messages.
func (s *Server) logTail() string {
	var out string
	for _, f := range []string{s.lay.errLog, s.lay.console, s.lay.log} {
		t := tail(f, 2048)
		if t == "" {
			continue
		}
		out += "\n--- " + f + " (tail) ---\n" + t
		if f == s.lay.errLog {
			break // the error log says it best
		}
	}
	return out
}

func tail(path string, n int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return ""
	}
	off := fi.Size() - n
	if off < 0 {
		off = 0
	}
	b, err := io.ReadAll(io.NewSectionReader(f, off, fi.Size()-off))
	if err != nil {
		return ""
	}
	return string(b)
}
