package api

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/event"
)

// wantActivity counts the fixture's signals of orgs per bucket of size
// from `from`, by category.
func wantActivity(orgs map[string]bool, from time.Time, size time.Duration, n int) map[string][]uint64 {
	out := map[string][]uint64{}
	for _, c := range categories {
		out[c] = make([]uint64, n)
	}
	for i, s := range fixtureSignals {
		if !orgs[s.user.tenant] {
			continue
		}
		at := fixtureEvent(i, s).Published
		if b := int(at.Sub(from) / size); at.After(from) && b < n {
			out[string(s.cat)][b]++
		}
	}
	return out
}

func TestActivity(t *testing.T) {
	e := newEnv(t)
	e.write(fixtureBatches()...)
	e.write(fixtureBatches()[0]) // a replayed page counts once

	tests := []struct {
		name, query, token string
		orgs               map[string]bool
		step               time.Duration
		from               time.Time
		n                  int
	}{
		{name: "acme by hour, default range", query: "?org=acme", token: tokenAcme, orgs: map[string]bool{"acme": true},
			step: time.Hour, from: now0.Add(-7 * 24 * time.Hour), n: 7*24 + 1},
		{name: "all orgs by day", query: "?step=day&from=2026-03-11T00:00:00Z", token: tokenAll,
			orgs: map[string]bool{"acme": true, "globex": true}, step: 24 * time.Hour, from: now0.Add(-3 * 24 * time.Hour).Truncate(24 * time.Hour), n: 4},
		{name: "a one-org token's all-orgs view", query: "?step=day&from=2026-03-11T00:00:00Z", token: tokenGlobex,
			orgs: map[string]bool{"globex": true}, step: 24 * time.Hour, from: now0.Add(-3 * 24 * time.Hour).Truncate(24 * time.Hour), n: 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got Activity
			e.getJSONT(t, "/api/v1/activity"+tt.query, tt.token, &got)
			require.Equal(t, tt.from, got.From)
			require.Len(t, got.Buckets, tt.n)
			require.Equal(t, tt.from.Add(time.Duration(tt.n-1)*tt.step), got.Buckets[tt.n-1])
			want := wantActivity(tt.orgs, tt.from, tt.step, tt.n)
			require.Len(t, got.Series, len(categories))
			var total uint64
			for _, s := range got.Series {
				require.Equal(t, want[s.Category], s.Counts, s.Category)
				for _, c := range s.Counts {
					total += c
				}
			}
			require.NotZero(t, total)
		})
	}

	var got Activity
	e.getJSON("/api/v1/activity?org=globex&step=day&from=2026-03-13T00:00:00Z", tokenGlobex, &got)
	require.Equal(t, string(event.CategoryEntityRisk), got.Series[1].Category)
	require.Equal(t, []uint64{0, 1}, got.Series[1].Counts, "erin's entity risk 7h ago")

	status, _ := e.get("/api/v1/activity?step=minute", tokenAll)
	require.Equal(t, http.StatusBadRequest, status)
	status, _ = e.get("/api/v1/activity?step=hour&from=2020-01-01T00:00:00Z", tokenAll)
	require.Equal(t, http.StatusBadRequest, status, "too many buckets")
}
