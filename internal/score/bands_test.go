package score

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestBandsTable(t *testing.T) {
	for _, b := range []Bands{{}, DefaultBands(), {Medium: 10, High: 30, Critical: 90}} {
		tab := b.Table()
		if b == (Bands{}) {
			b = DefaultBands()
		}
		require.Len(t, tab, 4)
		for _, band := range tab {
			mid := (band.From + band.To) / 2
			require.Equal(t, band.Level, b.Level(mid), "%v: %v", b, band)
			require.Equal(t, band.Level, b.Level(band.From), "%v: lower bound of %v", b, band)
		}
	}
}
