package chcurrent

import (
	"os"
	"testing"
)

// unavailable skips t, or fails it when CI=true: CI always runs the
// current-ClickHouse check.
func unavailable(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal(why)
	}
	t.Skip(why)
}
