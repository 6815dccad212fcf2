package api

import (
	"net/http"
	"strings"
	"sync"
)

// gate sits in front of the test API so that a browser test can make
// chosen requests slow (held until released) or failing, as a slow
// network or a ClickHouse outage would.
type gate struct {
	mu    sync.Mutex
	rules []*gateRule
}

// gateRule applies to requests whose path and query contain match.
type gateRule struct {
	match    string
	status   int           // answer this error status; 0: pass through
	release  chan struct{} // hold requests until closed; nil: don't
	arrived  chan struct{} // closed when the first request arrives
	canceled chan struct{} // closed when a held request's client gave up
	relOnce  sync.Once
	arrOnce  sync.Once
	canOnce  sync.Once
}

func newGate() *gate { return &gate{} }

func (g *gate) add(r *gateRule) *gateRule {
	r.arrived, r.canceled = make(chan struct{}), make(chan struct{})
	g.mu.Lock()
	g.rules = append(g.rules, r)
	g.mu.Unlock()
	return r
}

// hold holds the requests matching match until the rule is released.
func (g *gate) hold(match string) *gateRule {
	return g.add(&gateRule{match: match, release: make(chan struct{})})
}

// fail answers the requests matching match with status.
func (g *gate) fail(match string, status int) *gateRule {
	return g.add(&gateRule{match: match, status: status})
}

// clear removes every rule, releasing held requests.
func (g *gate) clear() {
	g.mu.Lock()
	rules := g.rules
	g.rules = nil
	g.mu.Unlock()
	for _, r := range rules {
		r.releaseAll()
	}
}

func (r *gateRule) releaseAll() {
	if r.release != nil {
		r.relOnce.Do(func() { close(r.release) })
	}
}

func (g *gate) find(uri string) *gateRule {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, r := range g.rules {
		if strings.Contains(uri, r.match) {
			return r
		}
	}
	return nil
}

func (g *gate) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r := g.find(req.URL.RequestURI())
		if r == nil {
			next.ServeHTTP(w, req)
			return
		}
		r.arrOnce.Do(func() { close(r.arrived) })
		if r.release != nil {
			select {
			case <-r.release:
			case <-req.Context().Done():
				r.canOnce.Do(func() { close(r.canceled) })
				return
			}
		}
		if r.status != 0 {
			writeError(w, r.status, "clickhouse query failed; see the riskpipe log")
			return
		}
		next.ServeHTTP(w, req)
	})
}
