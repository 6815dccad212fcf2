package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/riskpipe/riskpipe/internal/config"
)

// ReloadStatus is the outcome of the last reload, served at GET /-/reload
// and summarized in /readyz's body.
type ReloadStatus struct {
	// Successful is false when the last reload was refused (the running
	// configuration stayed in force).
	Successful bool `json:"successful"`
	// LastSuccess is when the configuration in force was loaded.
	LastSuccess time.Time `json:"last_success"`
	// LastAttempt and Trigger (signal, api, watch) describe the last
	// reload; zero before the first.
	LastAttempt time.Time `json:"last_attempt,omitzero"`
	Trigger     string    `json:"trigger,omitempty"`
	// Error says why the last reload was refused; Problems list every
	// problem of an invalid file or unsafe change with its key path.
	Error    string          `json:"error,omitempty"`
	Problems []ReloadProblem `json:"problems,omitempty"`
	// Changes summarizes what the last successful reload changed.
	Changes string `json:"changes,omitempty"`
}

// ReloadProblem is one reason a reload was refused.
type ReloadProblem struct {
	Path    string `json:"path"`
	Message string `json:"message"`
}

// applyTimeout bounds the response service's part of a reload (loading an
// added tenant's actions, checking a new restricted group).
const applyTimeout = 30 * time.Second

// Reload triggers.
const (
	TriggerSignal = "signal"
	TriggerAPI    = "api"
	TriggerWatch  = "watch"
)

// reloader reloads the configuration of a running App (Prometheus'
// reloadConfig): the new file is validated completely and compared with
// the running one first; anything wrong keeps the running configuration.
type reloader struct {
	a       *App
	started time.Time
	// after is the debounce timer of the file watch (tests replace it).
	after func(time.Duration) <-chan time.Time

	mu sync.Mutex // one reload at a time
	// loadedCH is clickhouse.* as the file in force says (a managed
	// server rewrites the running config's Addr).
	loadedCH config.ClickHouse
	status   ReloadStatus

	successful  prometheus.Gauge
	successTime prometheus.Gauge
	reloads     *prometheus.CounterVec
}

func newReloader(a *App) (*reloader, error) {
	now := time.Now()
	r := &reloader{
		a: a, started: now, after: time.After,
		loadedCH: a.o.Config.ClickHouse,
		status:   ReloadStatus{Successful: true, LastSuccess: now},
		successful: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "riskpipe_config_last_reload_successful",
			Help: "1 when the last configuration reload succeeded (or none was tried), 0 when it was refused and the previous configuration stayed in force.",
		}),
		successTime: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "riskpipe_config_last_reload_success_timestamp_seconds",
			Help: "When the configuration in force was loaded (Unix seconds).",
		}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "riskpipe_config_reloads_total",
			Help: "Configuration reloads by result (ok, invalid, refused, failed).",
		}, []string{"result"}),
	}
	r.successful.Set(1)
	r.successTime.Set(float64(now.UnixNano()) / 1e9)
	for _, res := range []string{"ok", "invalid", "refused", "failed"} {
		r.reloads.WithLabelValues(res)
	}
	for _, c := range []prometheus.Collector{r.successful, r.successTime, r.reloads} {
		if err := a.reg.Register(c); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// loaded records clickhouse.* as written in the file Run starts with.
func (r *reloader) loaded(ch config.ClickHouse) {
	r.mu.Lock()
	r.loadedCH = ch
	r.mu.Unlock()
}

// Status returns the outcome of the last reload.
func (r *reloader) Status() ReloadStatus {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.status
}

// Reload reads the configuration again and applies it by difference; see
// App.Reload.
func (r *reloader) Reload(trigger string) ReloadStatus {
	r.mu.Lock()
	defer r.mu.Unlock()
	a := r.a
	now := time.Now()
	st := ReloadStatus{LastSuccess: r.status.LastSuccess, LastAttempt: now, Trigger: trigger}
	fail := func(result, msg string, err error) ReloadStatus {
		st.Error = msg
		var ce *config.Error
		if errors.As(err, &ce) {
			for _, p := range ce.Problems {
				st.Problems = append(st.Problems, ReloadProblem{Path: p.Path, Message: p.Msg})
				a.log.Error("config reload: "+msg+"; keeping the running configuration", "trigger", trigger, "path", p.Path, "problem", p.Msg)
			}
		} else if err != nil {
			st.Error = msg + ": " + err.Error()
			a.log.Error("config reload: "+msg+"; keeping the running configuration", "trigger", trigger, "err", err)
		}
		r.status = st
		r.successful.Set(0)
		r.reloads.WithLabelValues(result).Inc()
		return st
	}
	if a.o.Reload == nil {
		return fail("failed", "this riskpipe was not started from a config file", nil)
	}
	next, err := a.o.Reload()
	if err != nil {
		return fail("invalid", "the new configuration is invalid", err)
	}
	if err := next.RequireTenants(); err != nil {
		return fail("invalid", "the new configuration is invalid", err)
	}
	cur := *a.config()
	cur.ClickHouse = r.loadedCH
	d := config.Compare(&cur, next)
	if err := d.Err(); err != nil {
		return fail("refused", "the new configuration changes what cannot change while riskpipe runs", err)
	}
	// Keep the ClickHouse actually in use (a managed server's address).
	loadedCH := next.ClickHouse
	next.ClickHouse = a.config().ClickHouse
	a.mu.Lock()
	ts, responder, notifier := a.tenants, a.respond, a.notifier
	a.mu.Unlock()
	if ts == nil {
		return fail("failed", "riskpipe is still starting", nil)
	}
	// Response settings and contacts first, so that an added tenant's
	// first batch finds its contacts and its response settings in force.
	// The response service applies all or nothing; its failure (e.g.
	// ClickHouse unreadable for an added tenant's actions) refuses the
	// whole reload.
	if responder != nil {
		actx, cancel := context.WithTimeout(context.Background(), applyTimeout)
		_, err := responder.Apply(actx, next.Tenants)
		cancel()
		if err != nil {
			return fail("failed", "applying the response settings", err)
		}
	}
	if notifier != nil {
		notifier.Apply(next)
	}
	if err := ts.Apply(next, d); err != nil {
		return fail("failed", "applying the new configuration", err)
	}
	a.cur.Store(next)
	r.loadedCH = loadedCH
	if h, err := a.buildAPI(next); err != nil {
		a.log.Error("config reload: api not rebuilt; it keeps the previous tokens and tenants", "err", err)
	} else if h != nil {
		a.apiH.Store(&h)
	}
	st.Successful, st.LastSuccess, st.Changes = true, now, d.Summary()
	r.status = st
	r.successful.Set(1)
	r.successTime.Set(float64(now.UnixNano()) / 1e9)
	r.reloads.WithLabelValues("ok").Inc()
	a.log.Info("configuration reloaded", "trigger", trigger, "changes", st.Changes, "unchanged", len(d.Unchanged))
	return st
}

// Reload reloads the configuration now (what SIGHUP, POST /-/reload and
// the file watch do) and returns the outcome. An invalid file, or a change
// that cannot be applied to a running riskpipe, keeps the running
// configuration: the outcome's Problems say why.
func (a *App) Reload(trigger string) ReloadStatus { return a.reloader.Reload(trigger) }

// ReloadStatus returns the outcome of the last reload.
func (a *App) ReloadStatus() ReloadStatus { return a.reloader.Status() }

// serveReload is POST /-/reload (the api checks the admin role): 200 with
// the outcome when applied, 422 when refused.
func (r *reloader) serveReload(ctx context.Context) (int, any) {
	st := r.Reload(TriggerAPI)
	if !st.Successful {
		return http.StatusUnprocessableEntity, st
	}
	return http.StatusOK, st
}

// serveStatus is GET /-/reload: the outcome of the last reload.
func (r *reloader) serveStatus(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(r.Status())
}

// readyNote is what /readyz adds to its body after a refused reload.
func (r *reloader) readyNote() string {
	st := r.Status()
	if st.Successful {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "config reload failed at %s (%s); running the configuration loaded at %s: %s\n",
		st.LastAttempt.UTC().Format(time.RFC3339), st.Trigger, st.LastSuccess.UTC().Format(time.RFC3339), st.Error)
	for _, p := range st.Problems {
		fmt.Fprintf(&b, "  %s: %s\n", p.Path, p.Message)
	}
	return b.String()
}

// run reloads on every signal of Options.ReloadSignals and, while
// reload.watch is on, once the config file has been quiet for
// reload.debounce after a change. It returns when ctx ends.
func (r *reloader) run(ctx context.Context) {
	var (
		w       *fsnotify.Watcher
		events  <-chan fsnotify.Event
		errs    <-chan error
		pending <-chan time.Time // the debounce timer
	)
	defer func() {
		if w != nil {
			_ = w.Close()
		}
	}()
	path := r.a.o.ConfigPath
	if path != "" {
		path, _ = filepath.Abs(path)
	}
	// sync starts or stops the watch as the config in force says.
	sync := func() {
		on := path != "" && r.a.config().Reload.Watch
		switch {
		case on && w == nil:
			nw, err := fsnotify.NewWatcher()
			if err == nil {
				// The directory, not the file: editors and Kubernetes
				// replace files by renaming over them.
				err = nw.Add(filepath.Dir(path))
			}
			if err != nil {
				r.a.log.Error("config reload: cannot watch the config file; SIGHUP and POST /-/reload still work", "path", path, "err", err)
				if nw != nil {
					_ = nw.Close()
				}
				return
			}
			w, events, errs = nw, nw.Events, nw.Errors
			r.a.log.Info("watching the config file for changes", "path", path, "debounce", r.a.config().Reload.Debounce)
		case !on && w != nil:
			_ = w.Close()
			w, events, errs, pending = nil, nil, nil, nil
			r.a.log.Info("stopped watching the config file")
		}
	}
	sync()
	signals := r.a.o.ReloadSignals
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-signals:
			if !ok {
				signals = nil
				continue
			}
			r.Reload(TriggerSignal)
		case ev, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			if concerns(ev, path) {
				// Restart the quiet period: an editor writes in steps.
				pending = r.after(r.a.config().Reload.Debounce)
			}
		case err, ok := <-errs:
			if !ok {
				errs = nil
				continue
			}
			r.a.log.Warn("config file watch", "err", err)
		case <-pending:
			pending = nil
			r.Reload(TriggerWatch)
		}
		sync()
	}
}

// concerns reports whether a watch event in the config file's directory
// may have changed the file: the file itself, or Kubernetes' ..data link
// of a mounted ConfigMap.
func concerns(ev fsnotify.Event, path string) bool {
	if ev.Op == fsnotify.Chmod {
		return false
	}
	name := filepath.Clean(ev.Name)
	return name == path || strings.HasPrefix(filepath.Base(name), "..data")
}
