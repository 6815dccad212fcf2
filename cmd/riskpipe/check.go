package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/riskpipe/riskpipe/internal/app"
	"github.com/riskpipe/riskpipe/internal/config"
)

// checkTenant proves riskpipe may read the tenant's System Log: it fetches
// one page (limit 1) of the last minute with the configured credentials.
func checkTenant(ctx context.Context, t config.Tenant, timeout time.Duration, log *slog.Logger) error {
	client, err := app.NewOktaClient(t, version, log, nil, nil)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	page, err := client.Fetch(ctx, client.PollURL(time.Now().Add(-time.Minute), 1))
	if err != nil {
		return err
	}
	defer page.Release()
	if page.Invalid != nil {
		return fmt.Errorf("the System Log answered with an invalid body: %w", page.Invalid)
	}
	return nil
}
