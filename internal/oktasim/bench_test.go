package oktasim

import (
	"bytes"
	"io"
	"net/http"
	"runtime"
	"strconv"
	"testing"
	"time"
)

// BenchmarkServePage pages through a 1,000,000-event backlog with
// limit=1000 over a real socket, following next links like a poller
// (wrapping to the start at the end). It reports events/s and the heap in
// use at the end, which stays small: events are generated per page.
func BenchmarkServePage(b *testing.B) {
	clock := newClock()
	o, ts, base := oneOrg(b, clock, OrgOptions{Source: fakeSource{}, Backlog: 1_000_000, Tokens: []string{"tok"},
		RateLimit: RateLimitOptions{Disabled: true}})
	c := ts.Client()
	first := base + "/api/v1/logs?limit=1000&after=0_0"
	u := first
	var buf bytes.Buffer
	var events int64
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		req.Header.Set("Authorization", ssws)
		resp, err := c.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		buf.Reset()
		_, err = io.Copy(&buf, resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			b.Fatalf("status %d: %v", resp.StatusCode, err)
		}
		n := bytes.Count(buf.Bytes(), []byte(`"uuid"`))
		events += int64(n)
		u = linkNext(resp.Header.Values("Link"))
		if n == 0 {
			u = first
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-MiB")
	if got := o.Stats().EventsServed; got != events {
		b.Fatalf("served %d events, read %d", got, events)
	}
}

func linkNext(links []string) string {
	for _, l := range links {
		if m := linkRE.FindStringSubmatch(l); m != nil && m[2] == "next" {
			return m[1]
		}
	}
	return ""
}

// BenchmarkPageHandler measures the page path alone (no sockets).
func BenchmarkPageHandler(b *testing.B) {
	clock := newClock()
	sim, err := New(Options{Now: clock.Now, Orgs: []OrgOptions{{Name: "acme", Source: fakeSource{}, Backlog: 1_000_000,
		Tokens: []string{"tok"}, RateLimit: RateLimitOptions{Disabled: true}}}})
	if err != nil {
		b.Fatal(err)
	}
	var i int64
	b.ReportAllocs()
	for b.Loop() {
		req, _ := http.NewRequest(http.MethodGet, "http://sim/o/acme/api/v1/logs?limit=1000&after=0_"+strconv.FormatInt(i%999_000, 10), nil)
		req.Header.Set("Authorization", ssws)
		w := &discardWriter{h: http.Header{}}
		sim.ServeHTTP(w, req)
		if w.status != http.StatusOK {
			b.Fatalf("status %d", w.status)
		}
		i += 1000
	}
	b.ReportMetric(float64(b.N)*1000/b.Elapsed().Seconds(), "events/s")
}

type discardWriter struct {
	h      http.Header
	status int
}

func (w *discardWriter) Header() http.Header { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return len(p), nil
}
func (w *discardWriter) WriteHeader(s int) { w.status = s }

// BenchmarkFilterMatch evaluates a typical risk filter on raw events (a
// filtered poll evaluates every event it scans).
func BenchmarkFilterMatch(b *testing.B) {
	f, err := parseFilter(`eventType eq "security.threat.detected" or eventType sw "user.risk" or debugContext.debugData.threatSuspected eq "true"`)
	if err != nil {
		b.Fatal(err)
	}
	raws := make([][]byte, 64)
	for i := range raws {
		raws[i] = fakeSource{}.Event(int64(i), time.Now()).Raw
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		f.match(raws[i%64])
		i++
	}
}
