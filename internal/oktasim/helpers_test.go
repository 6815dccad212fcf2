package oktasim

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// okta-sdk-golang v2 gives every client a token cache whose janitor
// goroutine stops only when the cache is garbage collected (sdk_test.go).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("github.com/patrickmn/go-cache.(*janitor).Run"))
}

// t0 is the fake clock's start.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// fakeClock is Options.Now for tests.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: t0} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

var eventTypes = []string{"user.session.start", "security.threat.detected", "user.risk.detect", "policy.evaluate_sign_on"}

// fakeSource is a tiny deterministic Source. Every 5th event (i%5 == 3) is
// late: published 2 minutes before it was persisted.
type fakeSource struct{}

func (fakeSource) Event(i int64, persisted time.Time) Event {
	pub := fakePublished(i, persisted)
	id := "ev-" + strconv.FormatInt(i, 10)
	et := eventTypes[i%int64(len(eventTypes))]
	result := "SUCCESS"
	if i%2 == 1 {
		result = "FAILURE"
	}
	threat := "false"
	if et == "security.threat.detected" {
		threat = "true"
	}
	b := make([]byte, 0, 512)
	b = append(b, `{"uuid":"`...)
	b = append(b, id...)
	b = append(b, `","published":"`...)
	b = pub.AppendFormat(b, "2006-01-02T15:04:05.000Z")
	b = append(b, `","eventType":"`...)
	b = append(b, et...)
	b = append(b, `","severity":"WARN","displayMessage":"Fake event","outcome":{"result":"`...)
	b = append(b, result...)
	b = append(b, `"},"actor":{"id":"u`...)
	b = strconv.AppendInt(b, i%7, 10)
	b = append(b, `","type":"User","alternateId":"user`...)
	b = strconv.AppendInt(b, i%7, 10)
	b = append(b, `@example.com"},"target":[{"id":"t`...)
	b = strconv.AppendInt(b, i%3, 10)
	b = append(b, `","type":"User"},{"id":"app1","type":"AppInstance"}],"client":{"ipAddress":"10.0.0.`...)
	b = strconv.AppendInt(b, i%250, 10)
	b = append(b, `"},"debugContext":{"debugData":{"threatSuspected":"`...)
	b = append(b, threat...)
	b = append(b, `","risk":"{level=LOW}"}},"securityContext":{"asNumber":`...)
	b = strconv.AppendInt(b, 1000+i%10, 10)
	b = append(b, `,"isProxy":false},"transaction":{"type":"WEB","id":"tx`...)
	b = strconv.AppendInt(b, i, 10)
	b = append(b, `"},"version":"0"}`...)
	return Event{ID: id, Raw: b, Published: pub}
}

func fakePublished(i int64, persisted time.Time) time.Time {
	pub := persisted.UTC().Truncate(time.Millisecond)
	if i%5 == 3 {
		pub = pub.Add(-2 * time.Minute)
	}
	return pub
}

// publishedSource adds the PublishedSource fast path to fakeSource.
type publishedSource struct{ fakeSource }

func (publishedSource) Published(i int64, persisted time.Time) time.Time {
	return fakePublished(i, persisted)
}

// startSim builds a simulator and serves it on a real socket.
func startSim(t testing.TB, opts Options) (*Server, *httptest.Server) {
	t.Helper()
	sim, err := New(opts)
	require.NoError(t, err)
	ts := httptest.NewServer(sim)
	t.Cleanup(ts.Close)
	return sim, ts
}

// oneOrg starts a simulator with one org "acme" on the fake clock.
func oneOrg(t testing.TB, clock *fakeClock, oo OrgOptions) (*Org, *httptest.Server, string) {
	t.Helper()
	oo.Name = "acme"
	sim, ts := startSim(t, Options{Orgs: []OrgOptions{oo}, Now: clock.Now, Seed: 1})
	return sim.Org("acme"), ts, sim.BaseURL(ts.URL, "acme")
}

type response struct {
	*http.Response
	body []byte
}

// do sends a request with optional header pairs and reads the body.
func do(t testing.TB, c *http.Client, method, url string, body io.Reader, header ...string) response {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	require.NoError(t, err)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return response{Response: resp, body: b}
}

func get(t testing.TB, c *http.Client, url string, header ...string) response {
	t.Helper()
	return do(t, c, http.MethodGet, url, nil, header...)
}

type logEvent struct {
	UUID      string    `json:"uuid"`
	Published time.Time `json:"published"`
	EventType string    `json:"eventType"`
}

func (r response) events(t testing.TB) []logEvent {
	t.Helper()
	require.Equal(t, http.StatusOK, r.StatusCode, string(r.body))
	require.Equal(t, "application/json", r.Header.Get("Content-Type"))
	var evs []logEvent
	require.NoError(t, json.Unmarshal(r.body, &evs), string(r.body))
	return evs
}

func (r response) oktaError(t testing.TB) oktaError {
	t.Helper()
	var e oktaError
	require.NoError(t, json.Unmarshal(r.body, &e), string(r.body))
	require.Equal(t, e.ErrorCode, e.ErrorLink)
	require.NotEmpty(t, e.ErrorID)
	require.NotNil(t, e.ErrorCauses)
	return e
}

var linkRE = regexp.MustCompile(`<([^>]*)>;\s*rel="([a-z]+)"`)

// links returns the Link header URLs by rel.
func (r response) links() map[string]string {
	out := map[string]string{}
	for _, h := range r.Header.Values("Link") {
		for _, m := range linkRE.FindAllStringSubmatch(h, -1) {
			out[m[2]] = m[1]
		}
	}
	return out
}

func uuids(evs []logEvent) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.UUID
	}
	return out
}

func ids(from, to int64) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, "ev-"+strconv.FormatInt(i, 10))
	}
	return out
}

// sswsOrg is an org with an API token and a backlog of n fake events.
func sswsOrg(t testing.TB, clock *fakeClock, n int64) (*Org, *http.Client, string) {
	t.Helper()
	o, ts, base := oneOrg(t, clock, OrgOptions{Source: fakeSource{}, Backlog: n, Tokens: []string{"tok"}, RateLimit: RateLimitOptions{Disabled: true}})
	return o, ts.Client(), base
}

const ssws = "SSWS tok"
