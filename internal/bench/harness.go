package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/riskpipe/riskpipe/internal/chserver"
)

// Options configure a Harness.
type Options struct {
	// ClickHouse is the server to use; nil starts a private one (its data
	// in a temporary directory, removed by Close).
	ClickHouse *chserver.Server
	// Riskpipe is the riskpipe binary; empty builds one with `go build`
	// into WorkDir.
	Riskpipe string
	// WorkDir holds configs, logs and the built binary; empty: a new
	// temporary directory, removed by Close unless Keep is set.
	WorkDir string
	Keep    bool
	// Logf reports progress (default: nothing).
	Logf func(format string, args ...any)
}

// Harness owns what outlives one measurement: the ClickHouse server, the
// riskpipe binary and a work directory. Each measurement gets its own
// database, simulator and riskpipe process.
type Harness struct {
	o       Options
	ch      *chserver.Server
	ownCH   bool
	ownDir  bool
	conn    driver.Conn
	machine Machine
	version string

	mu  sync.Mutex
	seq int
}

// New starts ClickHouse (unless given) and builds riskpipe (unless given).
func New(ctx context.Context, o Options) (*Harness, error) {
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	h := &Harness{o: o, ch: o.ClickHouse}
	ok := false
	defer func() {
		if !ok {
			_ = h.Close()
		}
	}()
	if h.o.WorkDir == "" {
		d, err := os.MkdirTemp("", "riskbench-*")
		if err != nil {
			return nil, err
		}
		h.o.WorkDir, h.ownDir = d, !o.Keep
	} else if err := os.MkdirAll(h.o.WorkDir, 0o755); err != nil {
		return nil, err
	}
	if h.ch == nil {
		h.o.Logf("starting a private ClickHouse")
		srv, err := chserver.Start(ctx, chserver.Options{DataDir: filepath.Join(h.o.WorkDir, "clickhouse")})
		if err != nil {
			return nil, err
		}
		h.ch, h.ownCH = srv, true
	}
	conn, err := clickhouse.Open(&clickhouse.Options{
		Addr:         []string{h.ch.Addr()},
		DialTimeout:  5 * time.Second,
		ReadTimeout:  10 * time.Minute, // INSERT ... SELECT of 10^7 rows
		MaxOpenConns: 4,
		MaxIdleConns: 4,
	})
	if err != nil {
		return nil, err
	}
	h.conn = conn
	if err := conn.Ping(ctx); err != nil {
		return nil, fmt.Errorf("ping clickhouse %s: %w", h.ch.Addr(), err)
	}
	if h.o.Riskpipe == "" {
		bin := filepath.Join(h.o.WorkDir, "riskpipe")
		h.o.Logf("building riskpipe")
		if err := Build(ctx, bin); err != nil {
			return nil, err
		}
		h.o.Riskpipe = bin
	} else if _, err := os.Stat(h.o.Riskpipe); err != nil {
		return nil, fmt.Errorf("riskpipe binary: %w", err)
	}
	h.machine = ReadMachine(ctx, conn)
	if out, err := exec.CommandContext(ctx, h.o.Riskpipe, "version").Output(); err == nil {
		h.version = strings.TrimSpace(string(out))
	}
	ok = true
	return h, nil
}

// Build builds cmd/riskpipe into bin, as `make build` does: stamped with
// `git describe --always --dirty` when git knows the tree.
func Build(ctx context.Context, bin string) error {
	version := "dev"
	if out, err := exec.CommandContext(ctx, "git", "describe", "--always", "--dirty").Output(); err == nil {
		version = strings.TrimSpace(string(out))
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-ldflags", "-X main.version="+version, "-o", bin,
		"github.com/riskpipe/riskpipe/cmd/riskpipe")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("go build riskpipe (run riskbench inside the riskpipe module, or pass --riskpipe): %w\n%s", err, out)
	}
	return nil
}

// Machine returns the machine facts read at start.
func (h *Harness) Machine() Machine {
	m := h.machine
	m.LoadAvg = LoadAvg()
	m.Date = time.Now().UTC()
	return m
}

// Riskpipe is the binary the measurements run.
func (h *Harness) Riskpipe() string { return h.o.Riskpipe }

// RiskpipeVersion is what `riskpipe version` prints.
func (h *Harness) RiskpipeVersion() string { return h.version }

// ClickHouse is the server the measurements write to.
func (h *Harness) ClickHouse() *chserver.Server { return h.ch }

// Conn is the harness's own ClickHouse connection (no default database).
func (h *Harness) Conn() driver.Conn { return h.conn }

func (h *Harness) next() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.seq++
	return h.seq
}

// Close stops what New started.
func (h *Harness) Close() error {
	var errs []error
	if h.conn != nil {
		errs = append(errs, h.conn.Close())
	}
	if h.ownCH && h.ch != nil {
		errs = append(errs, h.ch.Stop())
	}
	if h.ownDir && h.o.WorkDir != "" {
		errs = append(errs, os.RemoveAll(h.o.WorkDir))
	}
	return errors.Join(errs...)
}
