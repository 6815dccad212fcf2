package app

import (
	"context"
	"net/http"
	"time"
)

// ready answers 200 when ClickHouse answers and its schema is current.
func (a *App) ready(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	st := a.store
	a.mu.Unlock()
	if st == nil {
		http.Error(w, "starting", http.StatusServiceUnavailable)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := st.Ping(ctx); err != nil {
		http.Error(w, "clickhouse unreachable", http.StatusServiceUnavailable)
		return
	}
	cur, known, err := st.SchemaVersion(ctx)
	if err != nil || cur != known {
		http.Error(w, "schema not current", http.StatusServiceUnavailable)
		return
	}
	w.Write([]byte("ready\n" + a.reloader.readyNote()))
}
