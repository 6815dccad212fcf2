package app

import (
	"context"
	"net/http"
	"time"
)

// ready answers 200 when riskpipe is running, ClickHouse answers and its
// schema is current; 503 with the reason otherwise (starting, waiting for
// ClickHouse, migrating, shutting down).
func (a *App) ready(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	st, reason := a.store, a.notReadyReason
	a.mu.Unlock()
	if reason != "" || st == nil {
		if reason == "" {
			reason = "starting"
		}
		http.Error(w, reason, http.StatusServiceUnavailable)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := st.Ping(ctx); err != nil {
		http.Error(w, "clickhouse unreachable: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	cur, known, err := st.SchemaVersion(ctx)
	if err != nil || cur != known {
		http.Error(w, "schema not current", http.StatusServiceUnavailable)
		return
	}
	_, _ = w.Write([]byte("ready\n" + a.reloader.readyNote()))
}
