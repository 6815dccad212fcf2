package oktasim

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
)

// HoldStage says where a held request waits.
type HoldStage string

// Hold stages.
const (
	// HoldBeforeApply: the request waits before the org looks at it. If
	// the client goes away meanwhile, nothing is applied (the request is
	// abandoned); once released it is served normally.
	HoldBeforeApply HoldStage = "before_apply"
	// HoldAfterApply: the request is served (the change is applied, its
	// System Log event written) and the response waits. If the client goes
	// away meanwhile the change stays and the answer is lost.
	HoldAfterApply HoldStage = "after_apply"
)

// HoldWrites matches every write (PUT, POST, DELETE) of the users and
// groups API.
const HoldWrites = "write"

// Hold holds the next request matching Request at Stage until
// [Org.ReleaseHolds] or until its client goes away: a test kills its
// client at a known point of a call. Request is "METHOD /api/v1/..." as
// the route is written (e.g. "POST /api/v1/users/{id}/lifecycle/suspend",
// "GET /api/v1/users/{id}/roles") or [HoldWrites].
type Hold struct {
	Request string    `json:"request"`
	Stage   HoldStage `json:"stage"`
	// Skip spares the first Skip matching requests.
	Skip int `json:"skip,omitempty"`
}

// HoldStatus is an armed hold and what it caught.
type HoldStatus struct {
	Hold
	// Held: a request is waiting now. Abandoned: its client went away
	// while it waited. Released: it was let go by ReleaseHolds.
	Held, Abandoned, Released bool
	// Path is the held request's path.
	Path string `json:",omitempty"`
}

type armedHold struct {
	status  HoldStatus
	skip    int
	caught  bool
	release chan struct{}
}

type holdSet struct {
	mu    sync.Mutex
	holds []*armedHold
}

// SetHold arms a hold; it catches one request.
func (o *Org) SetHold(h Hold) error {
	switch {
	case h.Stage != HoldBeforeApply && h.Stage != HoldAfterApply:
		return fmt.Errorf("hold stage %q: want %s or %s", h.Stage, HoldBeforeApply, HoldAfterApply)
	case h.Request != HoldWrites && !strings.Contains(h.Request, " /api/v1/"):
		return fmt.Errorf("hold request %q: want \"METHOD /api/v1/...\" or %q", h.Request, HoldWrites)
	case h.Skip < 0:
		return fmt.Errorf("hold skip %d: must not be negative", h.Skip)
	}
	o.holds.mu.Lock()
	defer o.holds.mu.Unlock()
	o.holds.holds = append(o.holds.holds, &armedHold{status: HoldStatus{Hold: h}, skip: h.Skip, release: make(chan struct{})})
	return nil
}

// Holds returns the armed holds in the order set.
func (o *Org) Holds() []HoldStatus {
	o.holds.mu.Lock()
	defer o.holds.mu.Unlock()
	out := make([]HoldStatus, len(o.holds.holds))
	for i, h := range o.holds.holds {
		out[i] = h.status
	}
	return out
}

// ReleaseHolds lets every held request go on and disarms every hold.
func (o *Org) ReleaseHolds() {
	o.holds.mu.Lock()
	defer o.holds.mu.Unlock()
	for _, h := range o.holds.holds {
		close(h.release)
	}
	o.holds.holds = nil
}

// routeOf is the request's route without the org prefix: "GET
// /api/v1/users/{id}".
func routeOf(r *http.Request) string {
	p := r.Pattern
	if _, rest, ok := strings.Cut(p, " "); ok {
		p = rest
	}
	return r.Method + " " + strings.TrimPrefix(p, "/o/{org}")
}

func (h *armedHold) matches(route string) bool {
	if h.status.Request == HoldWrites {
		return !strings.HasPrefix(route, "GET ") && (strings.Contains(route, " /api/v1/users") || strings.Contains(route, " /api/v1/groups"))
	}
	return h.status.Request == route
}

// catch returns the hold that catches this request at stage, or nil.
func (o *Org) catch(route, path string, stage HoldStage) *armedHold {
	o.holds.mu.Lock()
	defer o.holds.mu.Unlock()
	for _, h := range o.holds.holds {
		if h.caught || h.status.Stage != stage || !h.matches(route) {
			continue
		}
		if h.skip > 0 {
			h.skip--
			continue
		}
		h.caught, h.status.Held, h.status.Path = true, true, path
		return h
	}
	return nil
}

// wait blocks until the hold is released (true) or the client is gone.
func (o *Org) wait(ctx context.Context, h *armedHold) bool {
	select {
	case <-h.release:
	case <-ctx.Done():
	}
	o.holds.mu.Lock()
	defer o.holds.mu.Unlock()
	h.status.Held = false
	if ctx.Err() != nil {
		h.status.Abandoned = true
		o.logger.Info("held request abandoned by its client", "path", h.status.Path, "stage", h.status.Stage)
		return false
	}
	h.status.Released = true
	return true
}

// serveHeld serves a request through the org's holds: before_apply waits
// before h runs, after_apply runs h into a buffer and waits before sending.
func (o *Org) serveHeld(w http.ResponseWriter, r *http.Request, serve func(http.ResponseWriter)) {
	route := routeOf(r)
	if h := o.catch(route, r.URL.Path, HoldBeforeApply); h != nil && !o.wait(r.Context(), h) {
		return
	}
	h := o.catch(route, r.URL.Path, HoldAfterApply)
	if h == nil {
		serve(w)
		return
	}
	buf := &bufferedResponse{header: http.Header{}}
	serve(buf)
	if !o.wait(r.Context(), h) {
		return
	}
	for k, v := range buf.header {
		w.Header()[k] = v
	}
	w.WriteHeader(cmpStatus(buf.status))
	_, _ = w.Write(buf.body.Bytes())
}

func cmpStatus(s int) int {
	if s == 0 {
		return http.StatusOK
	}
	return s
}

// bufferedResponse keeps a response until a hold lets it go.
type bufferedResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedResponse) Header() http.Header { return b.header }
func (b *bufferedResponse) WriteHeader(code int) {
	if b.status == 0 {
		b.status = code
	}
}
func (b *bufferedResponse) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}
