// Package store is riskpipe's ClickHouse side: the connection, the
// migrations in schema/, the coalescing batch Writer and the pollers'
// state.
//
// Everything here runs on Debian's ClickHouse 18.16 and on current
// versions: the native protocol only, every insert a PrepareBatch (through
// sendBatch, send.go, which keeps cancellations away from Send) with an
// explicit column list, tables named with their database (the connection
// has no default database, so Migrate can create it).
//
// Delivery: a poller's Batch (one page) is acknowledged by Writer.Write only
// after its rows and then its poll state were inserted; on any error the
// poller keeps its cursor and writes the page again. Replays are harmless
// for risk_events (ReplacingMergeTree by tenant, event_id; read with FINAL),
// dead_letters (by tenant, payload sha256) and poll_state (highest version
// wins). event_type_counts is a SummingMergeTree, so a page replayed after
// its counts were inserted is counted twice: it is inserted last before
// poll_state to keep that window small (a crash or a failed poll_state
// insert in between). Counts are therefore at-least-once.
package store

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/riskpipe/riskpipe/internal/config"
)

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,127}$`)

// Store is a connection pool to one ClickHouse database.
type Store struct {
	conn   driver.Conn
	cfg    config.ClickHouse
	db     string // quoted database name for queries
	logger *slog.Logger

	mu     sync.RWMutex
	closed bool
}

// Open connects over the native protocol and pings the server. A server
// that does not answer is a *RetryableError; a bad configuration or
// rejected credentials a *PermanentError. The database need not exist
// yet (Migrate creates it).
func Open(ctx context.Context, cfg config.ClickHouse, logger *slog.Logger) (*Store, error) {
	s, err := New(cfg, logger)
	if err != nil {
		return nil, err
	}
	if err := s.Ping(ctx); err != nil {
		_ = s.Close()
		return nil, err
	}
	return s, nil
}

// New builds the connection pool without connecting (Open connects and
// pings): a bad configuration is a *PermanentError.
func New(cfg config.ClickHouse, logger *slog.Logger) (*Store, error) {
	cfg = withDefaults(cfg)
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if !identRE.MatchString(cfg.Database) {
		return nil, &PermanentError{Err: fmt.Errorf("clickhouse database %q: want letters, digits and _", cfg.Database)}
	}
	conn, err := clickhouse.Open(&clickhouse.Options{
		Protocol: clickhouse.Native,
		Addr:     []string{cfg.Addr},
		Auth: clickhouse.Auth{
			Username: cfg.Username,
			Password: cfg.Password.Reveal(),
		},
		DialTimeout:     cfg.DialTimeout,
		ReadTimeout:     cfg.WriteTimeout,
		MaxOpenConns:    10,
		MaxIdleConns:    5,
		ConnMaxLifetime: time.Hour,
		Compression:     &clickhouse.Compression{Method: clickhouse.CompressionLZ4},
		// Otherwise every pooled connection keeps the encode and compress
		// buffers of the largest insert it ever sent (measured: 50 MB of a
		// 75 MB live heap with 10 orgs catching up, BENCHMARKS.md).
		FreeBufOnConnRelease: true,
	})
	if err != nil {
		return nil, &PermanentError{Err: fmt.Errorf("clickhouse options: %w", err)}
	}
	return &Store{conn: conn, cfg: cfg, db: "`" + cfg.Database + "`", logger: logger}, nil
}

// withDefaults fills c's zero values from config.Default (the one place
// defaults are written).
func withDefaults(c config.ClickHouse) config.ClickHouse {
	d := config.Default().ClickHouse
	if c.Addr == "" {
		c.Addr = d.Addr
	}
	if c.Database == "" {
		c.Database = d.Database
	}
	if c.Username == "" {
		c.Username = d.Username
	}
	if c.DialTimeout <= 0 {
		c.DialTimeout = d.DialTimeout
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = d.WriteTimeout
	}
	if c.BatchMaxRows <= 0 {
		c.BatchMaxRows = d.BatchMaxRows
	}
	if c.BatchMaxWait < 0 {
		c.BatchMaxWait = d.BatchMaxWait
	}
	return c
}

// Database is the database name (unquoted).
func (s *Store) Database() string { return s.cfg.Database }

// Conn is the connection pool, for read-side queries elsewhere. Qualify
// tables with the database (Database()); the pool has no default one.
func (s *Store) Conn() driver.Conn { return s.conn }

// Ping checks the server answers (within the dial timeout).
func (s *Store) Ping(ctx context.Context) error {
	if err := s.checkOpen(); err != nil {
		return err
	}
	pctx, cancel := context.WithTimeout(ctx, s.cfg.DialTimeout)
	defer cancel()
	if err := s.conn.Ping(pctx); err != nil {
		return classify(fmt.Errorf("ping clickhouse %s: %w", s.cfg.Addr, err))
	}
	return nil
}

// Close closes the pool; later calls return ErrClosed. Idempotent.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	return s.conn.Close()
}

func (s *Store) checkOpen() error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	return nil
}

// table is the qualified, quoted name of a table.
func (s *Store) table(name string) string { return s.db + "." + name }
