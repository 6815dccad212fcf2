package threat

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestTimeline(t *testing.T) {
	t0 := time.Date(2026, 3, 14, 0, 0, 0, 0, time.UTC)
	at := func(h int) time.Time { return t0.Add(time.Duration(h) * time.Hour) }
	start := func(h int) Mark { return Mark{At: at(h), Start: true, EventID: "s" + time.Duration(h).String()} }
	end := func(h int) Mark { return Mark{At: at(h), EventID: "e" + time.Duration(h).String()} }
	span := func(s, e int) [2]int { return [2]int{s, e} } // -1: none
	tests := []struct {
		name  string
		marks []Mark
		want  [][2]int
	}{
		{"none", nil, nil},
		{"one attack", []Mark{start(1), end(3)}, [][2]int{span(1, 3)}},
		{"out of order", []Mark{end(3), start(1)}, [][2]int{span(1, 3)}},
		{"ongoing", []Mark{start(1), end(2), start(5)}, [][2]int{span(1, 2), span(5, -1)}},
		{"began before the range", []Mark{end(2), start(4), end(6)}, [][2]int{span(-1, 2), span(4, 6)}},
		{"repeated start", []Mark{start(1), start(2), end(3)}, [][2]int{span(1, 3)}},
		{"repeated end", []Mark{start(1), end(3), end(4)}, [][2]int{span(1, 3)}},
		{"back to back", []Mark{start(1), start(3), end(3), end(5)}, [][2]int{span(1, 3), span(3, 5)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got [][2]int
			for _, a := range Timeline(tt.marks) {
				s, e := -1, -1
				if a.Start != nil {
					s = int(a.Start.Sub(t0) / time.Hour)
				}
				if a.End != nil {
					e = int(a.End.Sub(t0) / time.Hour)
				}
				require.Equal(t, a.End == nil, a.Ongoing())
				got = append(got, [2]int{s, e})
			}
			require.Equal(t, tt.want, got)
		})
	}
}
