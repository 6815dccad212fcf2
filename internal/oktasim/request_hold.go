package oktasim

import (
	"net/http"
	"slices"
	"sync"
)

// RequestHold keeps one /api/v1/logs request of an org waiting until the test
// lets it go: a deterministic trigger where a test would otherwise race
// with the client ("kill riskpipe while it asks for its third page", "let
// riskpipe's next request meet a bucket that other clients just spent").
// The request is held before anything else happens to it (in-flight
// limit, faults, auth, rate limit), so once released it is answered as if
// it had just arrived.
type RequestHold struct {
	org   *Org
	match func(*http.Request) bool

	held    chan struct{} // closed when a request is held
	release chan struct{} // closed by Release while the request waits

	mu    sync.Mutex
	skip  int // matching requests still to let pass
	state holdState
	req   *http.Request
}

type holdState int

const (
	holdArmed     holdState = iota // waiting for its request
	holdWaiting                    // a request is held
	holdReleased                   // the held request went on
	holdAbandoned                  // the held request's client went away first
	holdDisarmed                   // released before any request came
)

// HoldRequest arms a hold on the org's /api/v1/logs requests that match
// (nil: all): the first skip of them are answered as usual, the next one
// is held until [RequestHold.Release] or until its client goes away. Each call
// holds at most one request, and a request is held by at most one hold
// (the first armed that is due).
func (o *Org) HoldRequest(skip int, match func(*http.Request) bool) *RequestHold {
	h := &RequestHold{org: o, match: match, skip: max(0, skip), held: make(chan struct{}), release: make(chan struct{})}
	o.reqHoldMu.Lock()
	o.reqHolds = append(o.reqHolds, h)
	o.reqHoldMu.Unlock()
	o.logger.Info("request hold armed", "skip", skip)
	return h
}

// Held is closed once a request is held.
func (h *RequestHold) Held() <-chan struct{} { return h.held }

// Request is the held request (nil before Held is closed): its URL says
// which page it asks for. Its body must not be read.
func (h *RequestHold) Request() *http.Request {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.req
}

// Release lets the held request go on, or disarms the hold if no request
// is held yet. It reports whether a held request was still waiting and is
// now answered (false: none was held, or its client had gone away, or the
// hold was released before). Release may be called more than once.
func (h *RequestHold) Release() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch h.state {
	case holdWaiting:
		h.state = holdReleased
		close(h.release)
		return true
	case holdArmed:
		h.state = holdDisarmed
		h.org.disarm(h)
	}
	return false
}

func (o *Org) disarm(h *RequestHold) {
	o.reqHoldMu.Lock()
	defer o.reqHoldMu.Unlock()
	o.reqHolds = slices.DeleteFunc(o.reqHolds, func(x *RequestHold) bool { return x == h })
}

// hold holds r if an armed hold takes it, until it is released; false
// when r's client went away meanwhile (nothing is to be answered).
func (o *Org) hold(r *http.Request) bool {
	h := o.takeHold(r)
	if h == nil {
		return true
	}
	o.logger.Info("request held", "url", r.URL.String())
	select {
	case <-h.release:
		return true
	case <-r.Context().Done():
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.state == holdReleased { // released as the client went
		return true
	}
	h.state = holdAbandoned
	return false
}

// takeHold finds the first armed hold that r is for (counting r against
// the skips of all matching holds) and marks it waiting.
func (o *Org) takeHold(r *http.Request) *RequestHold {
	o.reqHoldMu.Lock()
	defer o.reqHoldMu.Unlock()
	var taken *RequestHold
	for _, h := range o.reqHolds {
		if h.match != nil && !h.match(r) {
			continue
		}
		h.mu.Lock()
		switch {
		case h.state != holdArmed:
		case h.skip > 0:
			h.skip--
		case taken == nil:
			taken = h
			h.state, h.req = holdWaiting, r
			close(h.held)
		}
		h.mu.Unlock()
	}
	if taken != nil {
		o.reqHolds = slices.DeleteFunc(o.reqHolds, func(x *RequestHold) bool { return x == taken })
	}
	return taken
}
