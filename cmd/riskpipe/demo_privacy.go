package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/riskpipe/riskpipe/internal/config"
	"github.com/riskpipe/riskpipe/internal/privacy"
	"github.com/riskpipe/riskpipe/internal/store"
)

// demoPrivacyConfig gives the demo a privacy hash key for this run.
func demoPrivacyConfig(cfg *config.Config) {
	k := make([]byte, 16)
	rand.Read(k)
	cfg.Privacy.HashKey = config.Secret(hex.EncodeToString(k))
}

// demoPrivacy answers an access and then a deletion request for the most
// attacked user of the demo (what `riskpipe privacy access|delete` and
// POST /api/v1/privacy/* do), after the pipeline stopped.
func demoPrivacy(w io.Writer, cfg config.Config) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	st, err := store.Open(ctx, cfg.ClickHouse, nil)
	if err != nil {
		return fmt.Errorf("privacy demo: %w", err)
	}
	defer st.Close()
	login, err := st.Reader().TopLogin(ctx, "%@%")
	if err != nil {
		fmt.Fprintf(w, "\nprivacy: no user to show a request for (%v)\n", err)
		return nil
	}
	svc, err := privacy.New(privacy.Options{Conn: st.Conn(), Database: st.Database(), HashKey: cfg.Privacy.HashKey.Reveal()})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\nprivacy requests for %s (riskpipe privacy access|delete --email, POST /api/v1/privacy/access|deletion):\n", login)
	acc, err := svc.Access(ctx, login, "demo")
	if err != nil {
		return fmt.Errorf("privacy access: %w", err)
	}
	fmt.Fprintf(w, "  access   %s: tenants %s, rows %s\n", acc.RequestID, strings.Join(acc.Tenants, ","), counts(acc.Counts))
	del, err := svc.Delete(ctx, login, "demo")
	if err != nil {
		return fmt.Errorf("privacy deletion: %w", err)
	}
	fmt.Fprintf(w, "  deletion %s: %s in %d ms, deleted %s, redacted %s, remaining %d\n", del.RequestID, del.Status, del.DurationMS,
		counts(del.Deleted), counts(del.Redacted), del.Remaining)
	acc, err = svc.Access(ctx, login, "demo")
	if err != nil {
		return fmt.Errorf("privacy access: %w", err)
	}
	fmt.Fprintf(w, "  access again: rows %s\n", counts(acc.Counts))
	return nil
}

func counts(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%d", k, m[k])
	}
	return strings.Join(parts, " ")
}
