package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/riskpipe/riskpipe/internal/app"
	"github.com/riskpipe/riskpipe/internal/config"
)

// readReloadStatus asks the riskpipe run serving cfg's http.listen for
// the outcome of its last configuration reload (GET /-/reload); nil when
// none answers (not running, or HTTP disabled).
func readReloadStatus(ctx context.Context, cfg *config.Config) *app.ReloadStatus {
	var st app.ReloadStatus
	if !readRunning(ctx, cfg, "/-/reload", &st) {
		return nil
	}
	return &st
}

// readRunning decodes the JSON answer of the riskpipe run serving cfg's
// http.listen at path into v; false when none answers (not running, or
// HTTP disabled).
func readRunning(ctx context.Context, cfg *config.Config, path string, v any) bool {
	addr := cfg.HTTP.Listen
	if addr == "" {
		return false
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+net.JoinHostPort(host, port)+path, nil)
	if err != nil {
		return false
	}
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return false
	}
	return json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(v) == nil
}

// printReloadStatus prints the configuration line of `riskpipe status`.
func printReloadStatus(w io.Writer, st *app.ReloadStatus) {
	if st == nil {
		return
	}
	loaded := st.LastSuccess.UTC().Format(time.DateTime)
	if st.Successful {
		fmt.Fprintf(w, "\nconfig: in force since %s UTC", loaded)
		if !st.LastAttempt.IsZero() {
			fmt.Fprintf(w, " (last reload: %s, %s)", st.Trigger, st.Changes)
		}
		fmt.Fprintln(w)
		return
	}
	fmt.Fprintf(w, "\nconfig: the last reload (%s, %s UTC) was REFUSED; riskpipe runs the configuration loaded at %s UTC: %s\n",
		st.Trigger, st.LastAttempt.UTC().Format(time.DateTime), loaded, st.Error)
	for _, p := range st.Problems {
		fmt.Fprintf(w, "  %s: %s\n", p.Path, p.Message)
	}
}
