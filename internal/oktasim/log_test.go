package oktasim

import (
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestLogMatchesBruteForce drives a log through random edits and checks
// visible and firstAtOrAfter against a scan of every event's persisted time.
func TestLogMatchesBruteForce(t *testing.T) {
	for seed := range uint64(20) {
		r := rand.New(rand.NewPCG(seed, 7))
		l := &eventLog{src: fakeSource{}}
		now := t0
		l.edit(now, func(b *logBuilder) { b.setRate(float64(1+r.IntN(5)), now.Add(-time.Duration(r.IntN(5))*time.Second)) })
		for range 30 {
			now = now.Add(time.Duration(r.IntN(3000)) * time.Millisecond)
			switch r.IntN(4) {
			case 0:
				l.edit(now, func(b *logBuilder) { b.addBacklog(int64(r.IntN(4)), b.at()) })
			case 1:
				l.edit(now, func(b *logBuilder) { b.addStored([][]byte{[]byte(`{}`), []byte(`{}`)}) })
			case 2:
				l.edit(now, func(b *logBuilder) { b.setRate(float64(r.IntN(4)), b.at()) })
			}
		}
		v := l.view()
		end := v.visible(now)
		var times []time.Time
		for i := range end {
			times = append(times, v.persisted(i))
		}
		for i := 1; i < len(times); i++ {
			require.False(t, times[i].Before(times[i-1]), "persisted times never decrease")
		}
		require.False(t, times[len(times)-1].After(now))
		for range 200 {
			at := t0.Add(time.Duration(r.IntN(100_000)-5000) * time.Millisecond)
			var visible, first int64
			first = -1
			for i, p := range times {
				if !p.After(at) {
					visible = int64(i) + 1
				}
				if first < 0 && !p.Before(at) {
					first = int64(i)
				}
			}
			if !at.After(now) {
				require.Equal(t, visible, v.visible(at), "visible at %s", at)
				if first >= 0 {
					require.Equal(t, first, v.firstAtOrAfter(at), "first at or after %s", at)
				}
			}
		}
	}
}

func TestSteadyRateSchedule(t *testing.T) {
	l := &eventLog{src: fakeSource{}}
	l.edit(t0, func(b *logBuilder) { b.setRate(4, t0) })
	v := l.view()
	require.Equal(t, int64(1), v.visible(t0))
	require.Equal(t, int64(5), v.visible(t0.Add(time.Second)))
	require.Equal(t, int64(4), v.firstAtOrAfter(t0.Add(time.Second)))
	require.Equal(t, int64(5), v.firstAtOrAfter(t0.Add(time.Second+time.Nanosecond)))

	// A backlog in the middle keeps the rate's cadence.
	l.edit(t0.Add(1100*time.Millisecond), func(b *logBuilder) { b.addBacklog(10, b.at()) })
	v = l.view()
	require.Equal(t, int64(15), v.visible(t0.Add(1100*time.Millisecond)))
	require.Equal(t, t0.Add(1250*time.Millisecond), v.persisted(15))
}

// TestBacklogCostsNoMemory: a million-event backlog is one segment.
func TestBacklogCostsNoMemory(t *testing.T) {
	clock := newClock()
	o, c, base := sswsOrg(t, clock, 0)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	o.AddBacklog(1_000_000)
	runtime.GC()
	runtime.ReadMemStats(&after)
	require.Less(t, int64(after.HeapAlloc)-int64(before.HeapAlloc), int64(1<<20))
	require.Equal(t, int64(1_000_000), o.Len())

	r := get(t, c, base+"/api/v1/logs?limit=1000&after=0_999500", "Authorization", ssws)
	require.Equal(t, ids(999_500, 1_000_000), uuids(r.events(t)))
}
