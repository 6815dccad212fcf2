package chserver_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/riskpipe/riskpipe/internal/chserver"
)

func TestMain(m *testing.M) {
	if os.Getenv("CHSERVER_HELPER_DIR") != "" {
		helperProcess(os.Getenv("CHSERVER_HELPER_DIR"))
		return
	}
	goleak.VerifyTestMain(m)
}

func requireBinary(t *testing.T) {
	t.Helper()
	if _, ok := chserver.Available(""); ok {
		return
	}
	msg := "no clickhouse-server binary; install it with: apt-get install -y clickhouse-server clickhouse-client"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

func startServer(t *testing.T, o chserver.Options) *chserver.Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := chserver.Start(ctx, o)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Stop() })
	return s
}

func query(t *testing.T, addr, q string) string {
	t.Helper()
	conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{addr}})
	require.NoError(t, err)
	defer conn.Close()
	var v string
	require.NoError(t, conn.QueryRow(context.Background(), q).Scan(&v))
	return v
}

func exec1(t *testing.T, addr string, q string) {
	t.Helper()
	conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{addr}})
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.Exec(context.Background(), q))
}

func TestStartStop(t *testing.T) {
	requireBinary(t)
	dir := t.TempDir()
	s := startServer(t, chserver.Options{DataDir: dir})

	host, _, err := net.SplitHostPort(s.Addr())
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1", host)
	require.NotEmpty(t, query(t, s.Addr(), "SELECT version()"))
	// 18.16 reports the zone as "Etc/UTC": check behaviour, not the name.
	require.Equal(t, "1970-01-02 00:00:00", query(t, s.Addr(), "SELECT toString(toDateTime(86400))"))
	require.FileExists(t, filepath.Join(dir, "config.xml"))
	require.FileExists(t, filepath.Join(dir, "log", "clickhouse-server.log"))

	require.NoError(t, s.Stop())
	require.NoError(t, s.Stop(), "Stop is idempotent")
	select {
	case <-s.Done():
	default:
		t.Fatal("Done not closed after Stop")
	}
	_, err = net.Dial("tcp", s.Addr())
	require.Error(t, err, "nothing listens after Stop")
	require.DirExists(t, dir, "a given DataDir is kept")
}

func TestRestartKeepsData(t *testing.T) {
	requireBinary(t)
	dir := t.TempDir()
	s := startServer(t, chserver.Options{DataDir: dir})
	exec1(t, s.Addr(), "CREATE TABLE default.kept (x UInt32) ENGINE = MergeTree ORDER BY x")
	require.NoError(t, s.Stop())

	s2 := startServer(t, chserver.Options{DataDir: dir})
	require.Equal(t, "1", query(t, s2.Addr(), "SELECT toString(count()) FROM system.tables WHERE database = 'default' AND name = 'kept'"))
}

func TestTempDataDirRemoved(t *testing.T) {
	requireBinary(t)
	s := startServer(t, chserver.Options{})
	dir := s.DataDir()
	require.DirExists(t, dir)
	require.NoError(t, s.Stop())
	require.NoDirExists(t, dir)
}

func TestStartPortTakenReportsLog(t *testing.T) {
	requireBinary(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port

	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err = chserver.Start(ctx, chserver.Options{DataDir: dir, TCPPort: port})
	require.Error(t, err)
	require.Contains(t, err.Error(), "Address already in use", "the error carries the server's log")
	require.Contains(t, err.Error(), filepath.Join(dir, "log"))
}

func TestStartMissingBinary(t *testing.T) {
	_, ok := chserver.Available("/nonexistent/clickhouse-server")
	require.False(t, ok)
	_, err := chserver.Start(context.Background(), chserver.Options{Binary: "/nonexistent/clickhouse-server", DataDir: t.TempDir()})
	require.ErrorIs(t, err, chserver.ErrNotFound)
}

func TestStartCanceled(t *testing.T) {
	requireBinary(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	dir := t.TempDir()
	_, err := chserver.Start(ctx, chserver.Options{DataDir: dir})
	require.ErrorIs(t, err, context.Canceled)
}

func TestAttach(t *testing.T) {
	s := chserver.Attach("127.0.0.1:9")
	require.Equal(t, "127.0.0.1:9", s.Addr())
	require.NoError(t, s.Stop())
}

// TestServerDiesWithParent starts a helper process that starts a server,
// kills the helper with SIGKILL and expects the server to go too.
func TestServerDiesWithParent(t *testing.T) {
	requireBinary(t)
	if runtime.GOOS != "linux" {
		t.Skip("parent-death signal is Linux only")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "CHSERVER_HELPER_DIR="+dir)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })

	line, err := bufio.NewReader(out).ReadString('\n')
	require.NoError(t, err, "helper output")
	pid, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "pid ")))
	require.NoError(t, err, "helper said %q", line)
	require.True(t, alive(pid), "server runs while its parent does")

	require.NoError(t, cmd.Process.Kill())
	_ = cmd.Wait()
	require.Eventually(t, func() bool { return !alive(pid) }, 30*time.Second, 20*time.Millisecond,
		"server %d outlived its parent", pid)
}

func alive(pid int) bool {
	// A zombie (exited, not yet reaped by init) counts as dead.
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return !errors.Is(err, os.ErrNotExist) && syscall.Kill(pid, 0) == nil
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	return len(f) > 0 && f[0] != "Z" && f[0] != "X"
}

func helperProcess(dir string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := chserver.Start(ctx, chserver.Options{DataDir: dir})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	fmt.Printf("pid %d\n", s.PID())
	time.Sleep(time.Hour) // killed by the test
}

// A server whose port is held by another ClickHouse server fails to start;
// it is not taken for ready because the other one answers on the port.
func TestStartOnAnotherServersPort(t *testing.T) {
	requireBinary(t)
	other := startServer(t, chserver.Options{})
	_, port, err := net.SplitHostPort(other.Addr())
	require.NoError(t, err)
	p, err := strconv.Atoi(port)
	require.NoError(t, err)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := chserver.Start(ctx, chserver.Options{DataDir: t.TempDir(), TCPPort: p})
	if err == nil {
		_ = s.Stop()
		t.Fatalf("started on %s, the port of another server (pid %d, not %d)", s.Addr(), other.PID(), s.PID())
	}
	require.Contains(t, err.Error(), "Address already in use")
	require.Equal(t, "1", query(t, other.Addr(), "SELECT toString(1)"), "the other server is untouched")
}
