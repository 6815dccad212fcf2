package oktasim

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"
)

// FaultKind names a fault.
type FaultKind string

// Faults. Unless Endpoint says otherwise they hit /api/v1/logs requests.
const (
	// FaultServerError: 500 E0000009 "Internal Server Error".
	FaultServerError FaultKind = "server_error"
	// FaultTimeout: 500 E0000009 "Your last request took too long...",
	// Okta's answer to a query running past 30 s.
	FaultTimeout FaultKind = "timeout"
	// FaultUnavailable: 503 with an HTML body, as from a load balancer.
	FaultUnavailable FaultKind = "unavailable"
	// FaultSlow: wait Delay (real time, cancelled with the request), then
	// answer normally (or with another fault).
	FaultSlow FaultKind = "slow"
	// FaultReset: reset the TCP connection without a response. Go's
	// http.Transport silently retries an idempotent request once when a
	// reused keep-alive connection dies before answering: to make a Go
	// client see the reset, use Count >= 2 or a fresh connection.
	FaultReset FaultKind = "reset"
	// FaultTruncated: a 200 whose body is cut mid-event, then the
	// connection is closed (Content-Length promises the whole body).
	FaultTruncated FaultKind = "truncated"
	// FaultInvalidJSON: a complete 200 response whose body is the page cut
	// mid-event, so it does not parse.
	FaultInvalidJSON FaultKind = "invalid_json"
	// FaultDuplicate: the next link points Events events back, so the next
	// page repeats the last Events events of this one.
	FaultDuplicate FaultKind = "duplicate"
	// FaultMissingUUID: events are served without their uuid.
	FaultMissingUUID FaultKind = "missing_uuid"
	// FaultRateLimited: 429 E0000047 with X-Rate-Limit-* headers
	// (Remaining 0, Reset now+ResetIn, default the org window's reset).
	FaultRateLimited FaultKind = "rate_limited"
	// FaultRateLimitedNoHeaders: the same 429 without X-Rate-Limit-* headers.
	FaultRateLimitedNoHeaders FaultKind = "rate_limited_no_headers"
	// FaultConcurrency: a concurrency 429 (Limit 0, Remaining 0).
	FaultConcurrency FaultKind = "concurrency"
	// FaultUnauthorized: 401 E0000011 to requests with a valid SSWS token,
	// as when the token is revoked or its admin deactivated.
	FaultUnauthorized FaultKind = "unauthorized"
	// FaultExpireTokens is an action, not a rule: SetFault expires every
	// issued access token at once (Count and Probability are ignored).
	FaultExpireTokens FaultKind = "expire_tokens"
)

// Fault endpoints.
const (
	EndpointLogs  = "logs"  // GET /api/v1/logs (default)
	EndpointToken = "token" // POST /oauth2/v1/token
	// EndpointManagement: the users and groups API (directory.go).
	EndpointManagement = "management"
	EndpointAny        = "any"
)

// Fault is injected into an org's next requests.
//
// With Probability 0 it hits the next Count matching requests (Count 0
// means 1). With Probability p it hits each matching request with
// probability p (seeded RNG), Count times or, with Count 0, until cleared.
// A request gets at most one failing fault (the first set that hits, in the
// order set); slow, duplicate and missing_uuid combine with the others.
// Body and page faults (truncated, invalid_json, duplicate, missing_uuid)
// are spent only on requests that get a normal answer, not on ones answered
// with a failing fault, an auth error (a DPoP nonce challenge included), a
// 429 or a 400.
// Setting a fault of the same Kind and Endpoint replaces it.
type Fault struct {
	Kind        FaultKind
	Count       int
	Probability float64
	Delay       time.Duration // slow
	Events      int           // duplicate: how many events repeat (default 1)
	ResetIn     time.Duration // rate_limited: X-Rate-Limit-Reset = now + ResetIn
	Endpoint    string        // EndpointLogs (default), EndpointToken, EndpointManagement or EndpointAny
	// Skip spares the first Skip requests the fault would hit (they are
	// answered normally and do not count towards Count): Skip 1 arms a
	// fault for the page after the next one, however fast the client asks.
	Skip int
}

type faultClass int

const (
	classDelay faultClass = iota
	classFail             // answers instead of the normal handler
	classBody             // mangles the body of a normal answer
	classPage             // changes a logs page
	classAuth             // applied at SSWS auth
	classAction
)

var faultClasses = map[FaultKind]faultClass{
	FaultServerError:          classFail,
	FaultTimeout:              classFail,
	FaultUnavailable:          classFail,
	FaultSlow:                 classDelay,
	FaultReset:                classFail,
	FaultTruncated:            classBody,
	FaultInvalidJSON:          classBody,
	FaultDuplicate:            classPage,
	FaultMissingUUID:          classPage,
	FaultRateLimited:          classFail,
	FaultRateLimitedNoHeaders: classFail,
	FaultConcurrency:          classFail,
	FaultUnauthorized:         classAuth,
	FaultExpireTokens:         classAction,
}

func (f *Fault) normalize() error {
	class, ok := faultClasses[f.Kind]
	if !ok {
		return fmt.Errorf("unknown fault kind %q", f.Kind)
	}
	if f.Endpoint == "" {
		f.Endpoint = EndpointLogs
	}
	switch {
	case f.Endpoint != EndpointLogs && f.Endpoint != EndpointToken && f.Endpoint != EndpointManagement && f.Endpoint != EndpointAny:
		return fmt.Errorf("fault endpoint %q: want logs, token, management or any", f.Endpoint)
	case f.Endpoint != EndpointLogs && (class == classPage || class == classAuth):
		return fmt.Errorf("fault %s only applies to logs", f.Kind)
	case f.Count < 0:
		return errors.New("fault count must not be negative")
	case !(f.Probability >= 0 && f.Probability <= 1):
		return errors.New("fault probability must be within [0, 1]")
	case f.Kind == FaultSlow && f.Delay <= 0:
		return errors.New("slow fault needs a positive delay")
	case f.Events < 0 || f.ResetIn < 0 || f.Delay < 0 || f.Skip < 0:
		return errors.New("fault events, reset_in, delay and skip must not be negative")
	}
	if f.Count == 0 && f.Probability == 0 {
		f.Count = 1
	}
	if f.Kind == FaultDuplicate && f.Events == 0 {
		f.Events = 1
	}
	return nil
}

// SetFault arms a fault for the org's next requests (see Fault).
func (o *Org) SetFault(f Fault) error {
	if err := f.normalize(); err != nil {
		return fmt.Errorf("oktasim: %w", err)
	}
	if f.Kind == FaultExpireTokens {
		o.ExpireTokens()
		o.stats.fault(f.Kind)
		o.logger.Info("fault applied", "kind", f.Kind)
		return nil
	}
	o.faults.set(f)
	o.logger.Info("fault set", "kind", f.Kind, "count", f.Count, "probability", f.Probability, "endpoint", f.Endpoint)
	return nil
}

// ClearFaults disarms every fault.
func (o *Org) ClearFaults() {
	o.faults.clear()
	o.logger.Info("faults cleared")
}

type faultSet struct {
	mu     sync.Mutex
	rng    *rand.Rand
	active []*armedFault
}

type armedFault struct {
	Fault
	left int // hits left; 0 with Probability > 0: unlimited
	skip int // hits still to spare
}

func newFaultSet(seed int64, org string) *faultSet {
	return &faultSet{rng: rand.New(rand.NewPCG(uint64(seed), hashString(org)))}
}

func (fs *faultSet) set(f Fault) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.active = slices.DeleteFunc(fs.active, func(a *armedFault) bool {
		return a.Kind == f.Kind && a.Endpoint == f.Endpoint
	})
	fs.active = append(fs.active, &armedFault{Fault: f, left: f.Count, skip: f.Skip})
}

func (fs *faultSet) clear() {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.active = nil
}

// drawn is what hits one request.
type drawn struct {
	delay       time.Duration
	fail        *Fault
	body        FaultKind
	duplicate   int
	missingUUID bool
	applied     []FaultKind
}

// draw decides which delay and failing faults hit a request to endpoint,
// consuming them.
func (fs *faultSet) draw(endpoint string) drawn {
	var d drawn
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if len(fs.active) == 0 {
		return d
	}
	for _, a := range fs.active {
		switch c := faultClasses[a.Kind]; {
		case !a.matches(endpoint):
		case c == classDelay && fs.hit(a):
			d.delay = max(d.delay, a.Delay)
			d.applied = append(d.applied, a.Kind)
		case c == classFail && d.fail == nil && fs.hit(a):
			f := a.Fault
			d.fail = &f
			d.applied = append(d.applied, a.Kind)
		}
	}
	fs.prune()
	return d
}

// drawAnswer decides which body and page faults hit a request to endpoint
// that gets a normal answer, consuming them. It is called once the request
// has passed auth, rate limits and parameter checks, so a request answered
// with an error (a DPoP nonce challenge, a 429, a 400) does not spend them
// (a malformed after cursor, found while paging, aside).
func (fs *faultSet) drawAnswer(endpoint string) drawn {
	var d drawn
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if len(fs.active) == 0 {
		return d
	}
	for _, a := range fs.active {
		switch c := faultClasses[a.Kind]; {
		case !a.matches(endpoint):
		case c == classBody && d.body == "" && fs.hit(a):
			d.body = a.Kind
			d.applied = append(d.applied, a.Kind)
		case a.Kind == FaultDuplicate && d.duplicate == 0 && fs.hit(a):
			d.duplicate = a.Events
			d.applied = append(d.applied, a.Kind)
		case a.Kind == FaultMissingUUID && !d.missingUUID && fs.hit(a):
			d.missingUUID = true
			d.applied = append(d.applied, a.Kind)
		}
	}
	fs.prune()
	return d
}

// prune drops spent faults; fs.mu must be held.
func (fs *faultSet) prune() {
	fs.active = slices.DeleteFunc(fs.active, func(a *armedFault) bool { return a.left == 0 && a.Probability == 0 })
}

// drawKind decides whether the fault of kind k hits (classAuth faults).
func (fs *faultSet) drawKind(k FaultKind) bool {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for i, a := range fs.active {
		if a.Kind == k && fs.hit(a) {
			if a.left == 0 && a.Probability == 0 {
				fs.active = slices.Delete(fs.active, i, i+1)
			}
			return true
		}
	}
	return false
}

func (a *armedFault) matches(endpoint string) bool {
	return a.Endpoint == EndpointAny || a.Endpoint == endpoint
}

// hit rolls the dice and consumes one use; a fault with no uses left
// (Count reached with a probability) never hits.
func (fs *faultSet) hit(a *armedFault) bool {
	if a.Probability > 0 && fs.rng.Float64() >= a.Probability {
		return false
	}
	if a.skip > 0 {
		a.skip--
		return false
	}
	if a.Count > 0 {
		if a.left == 0 {
			return false
		}
		a.left--
		if a.left == 0 && a.Probability > 0 {
			a.Probability = 0 // spent: removed by draw
		}
	}
	return true
}

// applyDelay waits for the slow fault; false when the client went away.
func applyDelay(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

// fail answers a request with a failing fault.
func (o *Org) fail(w *recorder, f *Fault, now time.Time) {
	id := o.srv.newID("oae", 22)
	switch f.Kind {
	case FaultServerError:
		writeOktaError(w, id, http.StatusInternalServerError, "E0000009", "Internal Server Error")
	case FaultTimeout:
		writeOktaError(w, id, http.StatusInternalServerError, "E0000009",
			"Your last request took too long to complete. This is likely due to a load issue on our side. We've logged this issue and will try to fix it. Please try again.")
	case FaultUnavailable:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("<html><head><title>503 Service Temporarily Unavailable</title></head><body><center><h1>503 Service Temporarily Unavailable</h1></center></body></html>\n"))
	case FaultReset:
		resetConn(w)
	case FaultRateLimited:
		st := o.limits.peek(now)
		st.remaining = 0
		if f.ResetIn > 0 {
			st.reset = now.Add(f.ResetIn)
		}
		setRateHeaders(w.Header(), st)
		o.rateLimited(w)
	case FaultRateLimitedNoHeaders:
		o.rateLimited(w)
	case FaultConcurrency:
		o.concurrencyLimited(w, now)
	}
}

func (o *Org) rateLimited(w http.ResponseWriter) {
	writeOktaError(w, o.srv.newID("oae", 22), http.StatusTooManyRequests, "E0000047",
		"API call exceeded rate limit due to too many requests.")
}

// concurrencyLimited is Okta's concurrency 429: Limit and Remaining 0, and
// a Reset that is "only a suggested value".
func (o *Org) concurrencyLimited(w http.ResponseWriter, now time.Time) {
	setRateHeaders(w.Header(), rateState{reset: now.Add(time.Second)})
	o.rateLimited(w)
}

// resetConn closes the connection with a TCP RST (SO_LINGER 0).
func resetConn(w *recorder) {
	w.record(-1)
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler) // HTTP/2: abort the stream instead
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// writeBody writes a 200 JSON body, mangled by a body fault. cut is where
// a mangled body is cut (mid-event for pages).
func writeBody(w *recorder, body []byte, fault FaultKind, cut int) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	switch fault {
	case FaultTruncated:
		h.Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body[:cut])
		_ = http.NewResponseController(w).Flush()
		panic(http.ErrAbortHandler) // close the connection short of Content-Length
	case FaultInvalidJSON:
		body = body[:cut]
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// faultJSON is Fault's JSON form for the control API: durations are Go
// duration strings ("1.5s").
type faultJSON struct {
	Kind        FaultKind `json:"kind"`
	Count       int       `json:"count,omitempty"`
	Probability float64   `json:"probability,omitempty"`
	Delay       string    `json:"delay,omitempty"`
	Events      int       `json:"events,omitempty"`
	ResetIn     string    `json:"reset_in,omitempty"`
	Endpoint    string    `json:"endpoint,omitempty"`
	Skip        int       `json:"skip,omitempty"`
}

// MarshalJSON implements json.Marshaler.
func (f Fault) MarshalJSON() ([]byte, error) {
	j := faultJSON{Kind: f.Kind, Count: f.Count, Probability: f.Probability, Events: f.Events, Endpoint: f.Endpoint, Skip: f.Skip}
	if f.Delay != 0 {
		j.Delay = f.Delay.String()
	}
	if f.ResetIn != 0 {
		j.ResetIn = f.ResetIn.String()
	}
	return json.Marshal(j)
}

// UnmarshalJSON implements json.Unmarshaler.
func (f *Fault) UnmarshalJSON(b []byte) error {
	var j faultJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*f = Fault{Kind: j.Kind, Count: j.Count, Probability: j.Probability, Events: j.Events, Endpoint: j.Endpoint, Skip: j.Skip}
	var err error
	if j.Delay != "" {
		if f.Delay, err = time.ParseDuration(j.Delay); err != nil {
			return fmt.Errorf("delay: %w", err)
		}
	}
	if j.ResetIn != "" {
		if f.ResetIn, err = time.ParseDuration(j.ResetIn); err != nil {
			return fmt.Errorf("reset_in: %w", err)
		}
	}
	return nil
}
