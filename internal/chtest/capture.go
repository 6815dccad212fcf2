package chtest

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/riskpipe/riskpipe/internal/chcurrent"
	"github.com/riskpipe/riskpipe/internal/chserver"
)

// captureDir is the capture directory (chcurrent.EnvCapture), or "".
func captureDir() string { return os.Getenv(chcurrent.EnvCapture) }

// captureDatabase records db's tables and rows, when capturing, on a
// server chtest started (an attached one has no query log to pair it with).
func captureDatabase(srv *chserver.Server, db string) error {
	dir := captureDir()
	if dir == "" || srv.HTTPAddr() == "" {
		return nil
	}
	// Its own time, apart from the DROP's.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := chcurrent.CaptureDatabase(ctx, dir, srv.HTTPAddr(), db); err != nil {
		return fmt.Errorf("capture database %s for the current-ClickHouse check: %w", db, err)
	}
	return nil
}

// captureStatements records the statements srv ran, when capturing.
func captureStatements(srv *chserver.Server) error {
	dir := captureDir()
	if dir == "" || srv.HTTPAddr() == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := chcurrent.CaptureStatements(ctx, dir, srv.HTTPAddr()); err != nil {
		return fmt.Errorf("capture statements for the current-ClickHouse check: %w", err)
	}
	return nil
}
