package api

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/riskpipe/riskpipe/internal/config"
	"github.com/riskpipe/riskpipe/internal/notify"
	"github.com/riskpipe/riskpipe/internal/poll"
	"github.com/riskpipe/riskpipe/internal/score"
	"github.com/riskpipe/riskpipe/internal/store"
)

// Settings are the API's dependencies.
type Settings struct {
	// Conn reads ClickHouse; tables are qualified with Database.
	Conn     driver.Conn
	Database string
	// Tokens may read the API (config api.tokens).
	Tokens []config.APIToken
	// Tenants are the configured tenants, enabled or not: the orgs the
	// API knows. A token with "*" reads all of them, and no other.
	Tenants []config.Tenant
	// Statuses returns the pollers' statuses (app.App.Statuses); nil: none.
	Statuses func() []poll.Status
	// Permissions returns the verdicts on each running tenant's
	// credential, by tenant (app.App.FeaturePermissions); nil: none.
	Permissions func() map[string][]FeaturePermission
	// StallAfter: a tenant that received nothing for longer is stalled.
	StallAfter time.Duration
	Logger     *slog.Logger
	Now        func() time.Time // default time.Now
	// Started is when riskpipe started (default: Now at New), the
	// reference of a tenant that never received an event; a reload
	// rebuilds the API and keeps it.
	Started time.Time
	// Reload reloads riskpipe's configuration (POST /-/reload): it
	// returns the HTTP status and the JSON answer. nil: 503.
	Reload func(ctx context.Context) (int, any)
	// Score is the attack-factor model (config score): its half-life,
	// population window and bands bring stored factors to the time of
	// reading (readtime.go). Zero fields take score's defaults.
	Score score.Config
	// Notify serves contacts and notification history (nil: those
	// endpoints answer 503).
	Notify *notify.Admin
	// Bands are the attack factor's level bands (config score.bands) the
	// dashboard's legend shows; zero: the defaults.
	Bands score.Bands
	// SignInCodes, when set, are the one-time codes POST /api/v1/sign-in
	// exchanges for a token (riskpipe demo issues one); nil: none.
	SignInCodes *SignInCodes
	// HealthLog, when set, returns a tenant's recent poller health windows
	// (poll.HealthLog.Windows of the running process); nil: none.
	HealthLog func(tenant string, from, to time.Time) []poll.HealthWindow
	// Respond serves /api/v1/actions and /api/v1/identities/match
	// (*respond.Service); nil: those answer 404.
	Respond Responder
	// Privacy answers /api/v1/privacy/* (nil: 503, privacy.hash_key unset);
	// PrivacySyncTimeout is privacy.sync_timeout (default 60s).
	Privacy            Privacy
	PrivacySyncTimeout time.Duration
}

// API is the JSON API and the dashboard. It starts no goroutines.
type API struct {
	s       Settings
	log     *slog.Logger
	tokens  []token
	orgs    []orgInfo // sorted by name
	started time.Time
	// r runs the read queries (store.Reader: the SQL of each table).
	r *store.Reader
}

type orgInfo struct {
	name, description string
	enabled           bool
}

// New checks s and builds the API; it touches no network.
func New(s Settings) (*API, error) {
	if s.Conn == nil {
		return nil, errors.New("api: no clickhouse connection")
	}
	if !identRE.MatchString(s.Database) {
		return nil, errors.New("api: database must be an identifier")
	}
	if s.StallAfter <= 0 {
		s.StallAfter = config.Default().API.StallAfter
	}
	if s.Logger == nil {
		s.Logger = slog.New(slog.DiscardHandler)
	}
	if s.Now == nil {
		s.Now = time.Now
	}
	if s.Score.HalfLife <= 0 {
		s.Score.HalfLife = score.DefaultHalfLife
	}
	if s.Score.PopulationWindow <= 0 {
		s.Score.PopulationWindow = score.DefaultPopulationWindow
	}
	if s.Score.Bands == (score.Bands{}) {
		s.Score.Bands = score.DefaultBands()
	}
	if s.Statuses == nil {
		s.Statuses = func() []poll.Status { return nil }
	}
	a := &API{s: s, r: store.NewReader(s.Conn, s.Database), log: s.Logger, started: s.Started}
	if a.started.IsZero() {
		a.started = s.Now()
	}
	for _, t := range s.Tenants {
		a.orgs = append(a.orgs, orgInfo{name: t.Name, description: t.Description, enabled: t.IsEnabled()})
	}
	slices.SortFunc(a.orgs, func(x, y orgInfo) int { return cmp.Compare(x.name, y.name) })
	tokens, err := newTokens(s.Tokens, a.orgNames())
	if err != nil {
		return nil, err
	}
	a.tokens = tokens
	if len(tokens) == 0 {
		a.log.Warn("no api.tokens configured: the dashboard and /api/v1 answer 401 to everyone")
	}
	return a, nil
}

// Handler serves the dashboard at /, its files under /static/, and the
// API under /api/v1/. Mount it at / next to /metrics, /healthz and
// /readyz: the more specific patterns of those win.
func (a *API) Handler() http.Handler {
	mux := http.NewServeMux()
	allowed := map[string][]string{} // pattern → its methods
	var patterns []string
	for _, rt := range a.routes() {
		h := rt.handler
		if rt.auth {
			h = a.authenticated(rt.needs(), h)
		}
		mux.Handle(rt.method+" "+rt.pattern, h)
		if _, ok := allowed[rt.pattern]; !ok {
			patterns = append(patterns, rt.pattern)
		}
		allowed[rt.pattern] = append(allowed[rt.pattern], rt.method)
	}
	// Another method on an endpoint is 405 naming the allowed ones (the
	// methodless pattern matches what the method's own does not).
	for _, p := range patterns {
		methods := allowed[p]
		if slices.Contains(methods, http.MethodGet) {
			methods = append(methods, http.MethodHead) // GET patterns serve HEAD
		}
		allow := strings.Join(methods, ", ")
		mux.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", allow)
			writeError(w, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed: use "+allow)
		})
	}
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such endpoint")
	})
	a.dashboardRoutes(mux)
	return securityHeaders(mux)
}

func (a *API) orgNames() []string {
	names := make([]string, len(a.orgs))
	for i, o := range a.orgs {
		names[i] = o.name
	}
	return names
}

// securityHeaders keeps the dashboard from being framed or sniffed, and
// its scripts to our own origin.
func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'")
		h.ServeHTTP(w, r)
	})
}
