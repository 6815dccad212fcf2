package oktasim

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"time"
)

// Server is the simulator: an http.Handler serving every configured org.
// It starts no goroutines; serve it with an http.Server or httptest.
type Server struct {
	now    func() time.Time
	logger *slog.Logger
	seed   int64
	orgs   map[string]*Org
	names  []string
	mux    *http.ServeMux
	reqSeq atomic.Uint64
}

// New builds a simulator; it only validates and builds.
func New(o Options) (*Server, error) {
	s := &Server{now: o.Now, logger: o.Logger, seed: o.Seed, orgs: map[string]*Org{}}
	if s.now == nil {
		s.now = time.Now
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	var errs []error
	for i, oo := range o.Orgs {
		if err := oo.validate(); err != nil {
			errs = append(errs, fmt.Errorf("orgs[%d]: %w", i, err))
			continue
		}
		if s.orgs[oo.Name] != nil {
			errs = append(errs, fmt.Errorf("orgs[%d]: duplicate name %q", i, oo.Name))
			continue
		}
		org, err := newOrg(s, oo)
		if err != nil {
			errs = append(errs, fmt.Errorf("orgs[%d]: %w", i, err))
			continue
		}
		s.orgs[oo.Name] = org
		s.names = append(s.names, oo.Name)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("oktasim: %w", err)
	}
	s.routes()
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Org returns the named org, or nil.
func (s *Server) Org(name string) *Org { return s.orgs[name] }

// Orgs returns the org names in configuration order.
func (s *Server) Orgs() []string { return slices.Clone(s.names) }

// BaseURL returns an org's Okta base URL on a listener, e.g.
// BaseURL("http://127.0.0.1:8080", "acme") = "http://127.0.0.1:8080/o/acme".
// Its token endpoint is BaseURL + "/oauth2/v1/token".
func (s *Server) BaseURL(listenerURL, org string) string {
	return strings.TrimRight(listenerURL, "/") + "/o/" + org
}

// Stats returns every org's counters.
func (s *Server) Stats() map[string]Stats {
	out := make(map[string]Stats, len(s.orgs))
	for name, o := range s.orgs {
		out[name] = o.Stats()
	}
	return out
}

func (s *Server) routes() {
	m := http.NewServeMux()
	m.HandleFunc("/o/{org}/api/v1/logs", s.orgHandler((*Org).serveLogs))
	m.HandleFunc("/o/{org}/oauth2/v1/token", s.orgHandler((*Org).serveToken))
	// GET: more specific than the directory's GET /api/v1/users/{id}.
	m.HandleFunc("GET /o/{org}/api/v1/users/me", s.orgHandler((*Org).serveUsersMe))
	m.HandleFunc("/o/{org}/oauth2/v1/clients/{id}/roles", s.orgHandler((*Org).serveClientRoles))
	m.HandleFunc("/o/{org}/o/{again}/{rest...}", s.doubledPrefix)
	s.directoryRoutes(m)
	m.HandleFunc("GET /_sim/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	m.HandleFunc("GET /_sim/orgs", s.controlListOrgs)
	m.HandleFunc("GET /_sim/orgs/{org}/stats", s.control(controlStats))
	m.HandleFunc("POST /_sim/orgs/{org}/faults", s.control(controlAddFault))
	m.HandleFunc("DELETE /_sim/orgs/{org}/faults", s.control(controlClearFaults))
	m.HandleFunc("POST /_sim/orgs/{org}/backlog", s.control(controlBacklog))
	m.HandleFunc("POST /_sim/orgs/{org}/rate", s.control(controlRate))
	m.HandleFunc("POST /_sim/orgs/{org}/events", s.control(controlInject))
	m.HandleFunc("POST /_sim/orgs/{org}/expire-tokens", s.control(controlExpireTokens))
	m.HandleFunc("GET /_sim/orgs/{org}/truth", s.control(controlTruth))
	m.HandleFunc("POST /_sim/orgs/{org}/holds", s.control(controlAddHold))
	m.HandleFunc("GET /_sim/orgs/{org}/holds", s.control(controlHolds))
	m.HandleFunc("DELETE /_sim/orgs/{org}/holds", s.control(controlReleaseHolds))
	m.HandleFunc("/", s.notFound)
	s.mux = m
}

// orgHandler resolves the org and records the response status in its stats.
func (s *Server) orgHandler(h func(*Org, *recorder, *http.Request)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		o := s.orgs[r.PathValue("org")]
		if o == nil {
			s.notFound(w, r)
			return
		}
		o.serveHeld(w, r, func(w http.ResponseWriter) {
			rec := &recorder{ResponseWriter: w, stats: &o.stats}
			rec.Header().Set("X-Okta-Request-Id", s.newID("", 27))
			rec.Header().Set("Date", s.now().UTC().Format(http.TimeFormat))
			h(o, rec, r)
			if rec.status == 0 && r.Context().Err() == nil {
				rec.record(http.StatusOK) // net/http sends an empty 200
			}
		})
	}
}

// doubledPrefix serves /o/acme/o/acme/X as /o/acme/X. okta-sdk-golang v2
// follows a next link by appending the link's path to its org URL, which
// doubles the path prefix of a simulated org; real Okta orgs have none.
func (s *Server) doubledPrefix(w http.ResponseWriter, r *http.Request) {
	org := r.PathValue("org")
	if org != r.PathValue("again") {
		s.notFound(w, r)
		return
	}
	r2 := r.Clone(r.Context())
	r2.URL.Path = "/o/" + org + "/" + r.PathValue("rest")
	r2.URL.RawPath = ""
	s.mux.ServeHTTP(w, r2)
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	writeOktaError(w, s.newID("oae", 22), http.StatusNotFound, "E0000007",
		"Not found: Resource not found: "+r.URL.Path+" (URL)")
}

// newID returns a reproducible Okta-looking id (base62).
func (s *Server) newID(prefix string, n int) string {
	const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	r := rand.New(rand.NewPCG(uint64(s.seed), s.reqSeq.Add(1)))
	b := make([]byte, len(prefix), len(prefix)+n)
	copy(b, prefix)
	for range n {
		b = append(b, alphabet[r.IntN(len(alphabet))])
	}
	return string(b)
}

func hashString(s string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(s))
	return h.Sum64()
}

// recorder counts the response status in the org's stats as soon as it
// is sent (before the client can see it); Unwrap lets
// http.ResponseController reach Flush and Hijack.
type recorder struct {
	http.ResponseWriter
	stats  *orgStats
	status int // -1 after a reset
}

func (r *recorder) record(status int) {
	if r.status == 0 {
		r.status = status
		if status < 0 {
			status = 0
		}
		r.stats.request(status)
	}
}

func (r *recorder) WriteHeader(code int) {
	r.record(code)
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	r.record(http.StatusOK)
	return r.ResponseWriter.Write(b)
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// oktaError is Okta's error body.
type oktaError struct {
	ErrorCode    string       `json:"errorCode"`
	ErrorSummary string       `json:"errorSummary"`
	ErrorLink    string       `json:"errorLink"`
	ErrorID      string       `json:"errorId"`
	ErrorCauses  []errorCause `json:"errorCauses"`
}

type errorCause struct {
	ErrorSummary string `json:"errorSummary"`
}

func writeOktaError(w http.ResponseWriter, id string, status int, code, summary string, causes ...string) {
	e := oktaError{ErrorCode: code, ErrorSummary: summary, ErrorLink: code, ErrorID: id, ErrorCauses: []errorCause{}}
	for _, c := range causes {
		e.ErrorCauses = append(e.ErrorCauses, errorCause{ErrorSummary: c})
	}
	writeJSON(w, status, e)
}

// writeOAuthError writes an RFC 6749 error body.
func writeOAuthError(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", fmt.Sprint(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
