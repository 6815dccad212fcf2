package config

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestMemorySoftLimit(t *testing.T) {
	def := Default().Memory
	tests := []struct {
		name    string
		mem     Memory
		tenants int
		want    int64
	}{
		{name: "derived, 10 tenants", mem: def, tenants: 10, want: (40 + 3*4 + 8 + 10) << 20},
		{name: "derived, 100 tenants", mem: def, tenants: 100, want: (40 + 3*4 + 8 + 100) << 20},
		{name: "derived from other budgets", mem: Memory{PagesInFlight: 8, AttributionMiB: 32}, tenants: 1, want: (40 + 24 + 32 + 1) << 20},
		{name: "explicit", mem: Memory{PagesInFlight: 4, AttributionMiB: 8, LimitMiB: 512}, tenants: 10, want: 512 << 20},
		{name: "none", mem: Memory{PagesInFlight: 4, AttributionMiB: 8, LimitMiB: -1}, tenants: 10, want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, tt.mem.SoftLimit(tt.tenants))
		})
	}
}
