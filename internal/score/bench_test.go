package score

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/riskpipe/riskpipe/internal/event"
)

// benchPages is an org of 1000 users and 10,000 signals over 30 days, in 10
// pages of 1000 kept events and 1000 sightings each.
func benchPages() (seenPages [][]SeenUser, keptPages [][]event.Event) {
	r := rand.New(rand.NewPCG(1, 2))
	const users, signals, pages = 1000, 10_000, 10
	for p := range pages {
		var s []SeenUser
		var k []event.Event
		for i := range signals / pages {
			n := p*signals/pages + i
			u := fmt.Sprintf("00u%04d", r.IntN(users))
			at := now.Add(-time.Duration(r.Int64N(int64(30 * day))))
			s = append(s, SeenUser{ID: fmt.Sprintf("00u%04d", n%users), Login: "x@acme.example", At: at})
			x := kinds[r.IntN(len(kinds))]
			x.id, x.user, x.at = fmt.Sprintf("ev%06d", n), u, at
			if r.IntN(3) == 0 {
				x.tx = fmt.Sprintf("tx%d", r.IntN(signals/3))
			}
			k = append(k, x.event())
		}
		seenPages, keptPages = append(seenPages, s), append(keptPages, k)
	}
	return seenPages, keptPages
}

// BenchmarkObservePage: one op is one page (1000 kept events) into an org
// of 1000 users growing to 10,000 signals.
func BenchmarkObservePage(b *testing.B) {
	seenPages, keptPages := benchPages()
	b.ReportAllocs()
	var e *Engine
	i := 0
	for b.Loop() {
		if i%len(keptPages) == 0 {
			b.StopTimer()
			e = newEngine(b, Config{})
			b.StartTimer()
		}
		e.ObservePage(seenPages[i%len(keptPages)], keptPages[i%len(keptPages)], now)
		i++
	}
}

// BenchmarkRefresh: one hourly refresh of that org.
func BenchmarkRefresh(b *testing.B) {
	seenPages, keptPages := benchPages()
	e := newEngine(b, Config{})
	for i := range keptPages {
		e.ObservePage(seenPages[i], keptPages[i], now)
	}
	b.ReportAllocs()
	at := now
	for b.Loop() {
		at = at.Add(time.Hour)
		e.Refresh(at)
	}
}
