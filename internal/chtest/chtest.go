// Package chtest gives tests a real ClickHouse: one private server per test
// binary (Debian's 18.16 here, any version elsewhere), or the server named
// by RISKPIPE_CLICKHOUSE_ADDR, and a fresh database per test.
//
//	func TestMain(m *testing.M) { chtest.Main(m) }
//
//	func TestX(t *testing.T) {
//		srv := chtest.Start(t)
//		db := chtest.NewDatabase(t, srv)
//		...
//	}
//
// Without a ClickHouse binary a test is skipped, or fails when CI=true.
// RISKPIPE_CLICKHOUSE_ADDR=host:port uses that server instead (e.g. a
// current ClickHouse); RISKPIPE_CLICKHOUSE_BINARY names the binary to start.
//
// RISKPIPE_SQL_CAPTURE=dir records, for the current-ClickHouse check
// (internal/chcurrent), every statement the tests send and each test
// database's tables and rows before it is dropped (`make test` sets it).
package chtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"go.uber.org/goleak"

	"github.com/riskpipe/riskpipe/internal/chserver"
	"github.com/riskpipe/riskpipe/internal/config"
)

// EnvAddr names an external server (host:port, native protocol) to use
// instead of starting one, e.g. a current ClickHouse.
const EnvAddr = "RISKPIPE_CLICKHOUSE_ADDR"

// EnvBinary names the server binary to start instead of the one found on
// PATH or in the usual places.
const EnvBinary = "RISKPIPE_CLICKHOUSE_BINARY"

// InstallHint says how to get the server binary.
const InstallHint = "apt-get install -y clickhouse-server clickhouse-client"

var (
	mu       sync.Mutex
	shared   *chserver.Server
	startErr error
	started  bool
)

// Start returns the test binary's ClickHouse, starting it on first use.
// Without a binary (and without RISKPIPE_CLICKHOUSE_ADDR) it skips tb, or
// fails it when CI=true; a server that fails to start fails tb.
func Start(tb testing.TB) *chserver.Server {
	tb.Helper()
	mu.Lock()
	defer mu.Unlock()
	if !started {
		started = true
		shared, startErr = start()
	}
	if startErr != nil {
		if errors.Is(startErr, errNoBinary) {
			Unavailable(tb)
		}
		tb.Fatalf("start clickhouse: %v", startErr)
	}
	return shared
}

var errNoBinary = errors.New("no clickhouse binary")

func start() (*chserver.Server, error) {
	if addr := os.Getenv(EnvAddr); addr != "" {
		return chserver.Attach(addr), nil
	}
	bin, ok := chserver.Available(os.Getenv(EnvBinary))
	if !ok {
		return nil, errNoBinary
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// temporary DataDir, removed by Stop
	return chserver.Start(ctx, chserver.Options{Binary: bin, QueryLog: captureDir() != ""})
}

// Unavailable skips tb because no ClickHouse binary exists, or fails it
// when CI=true.
func Unavailable(tb testing.TB) {
	tb.Helper()
	msg := fmt.Sprintf("no clickhouse-server binary: install it with `%s`, or set %s=host:9000", InstallHint, EnvAddr)
	if os.Getenv("CI") == "true" {
		tb.Fatal(msg)
	}
	tb.Skip(msg)
}

// Stop stops the shared server, if one was started. Main calls it; call it
// yourself from a TestMain that does not use Main.
func Stop() error {
	mu.Lock()
	defer mu.Unlock()
	if shared == nil {
		return nil
	}
	cerr := captureStatements(shared)
	err := shared.Stop()
	if err == nil {
		err = cerr
	}
	shared, started, startErr = nil, false, nil
	return err
}

// Main runs the tests, stops the shared server, then checks that no
// goroutine leaked (goleak, with opts) and exits.
func Main(m *testing.M, opts ...goleak.Option) {
	code := m.Run()
	if err := Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "chtest: stop clickhouse:", err)
		if code == 0 {
			code = 1
		}
	}
	if code == 0 {
		if err := goleak.Find(opts...); err != nil {
			fmt.Fprintln(os.Stderr, "goleak: errors on successful test run:", err)
			code = 1
		}
	}
	os.Exit(code)
}

var nonIdent = regexp.MustCompile(`[^a-z0-9_]+`)

// NewDatabase creates a database with a unique name on srv and drops it
// when tb ends.
func NewDatabase(tb testing.TB, srv *chserver.Server) string {
	tb.Helper()
	name := strings.Trim(nonIdent.ReplaceAllString(strings.ToLower(tb.Name()), "_"), "_")
	if len(name) > 40 {
		name = name[:40]
	}
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	db := "rptest_" + name + "_" + hex.EncodeToString(rnd[:])

	conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{srv.Addr()}, MaxOpenConns: 1})
	if err != nil {
		tb.Fatalf("chtest: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := conn.Exec(ctx, "CREATE DATABASE `"+db+"`"); err != nil {
		_ = conn.Close()
		tb.Fatalf("chtest: create database %s on %s: %v", db, srv.Addr(), err)
	}
	tb.Cleanup(func() {
		defer conn.Close()
		if err := captureDatabase(srv, db); err != nil {
			tb.Errorf("chtest: %v", err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := conn.Exec(ctx, "DROP DATABASE IF EXISTS `"+db+"`"); err != nil {
			tb.Errorf("chtest: drop database %s: %v", db, err)
		}
	})
	return db
}

// Config is a store configuration for database db on srv.
func Config(srv *chserver.Server, db string) config.ClickHouse {
	return config.ClickHouse{
		Addr:         srv.Addr(),
		Database:     db,
		Username:     "default",
		DialTimeout:  5 * time.Second,
		WriteTimeout: 30 * time.Second,
		BatchMaxRows: 10000,
		BatchMaxWait: 0, // group commit, as in production
	}
}
