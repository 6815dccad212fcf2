//go:build !chdb

package chcurrent

import "testing"

// TestCurrentClickHouse needs libchdb, which chdb-go loads when the test
// binary starts (a missing library is a panic there, not a skip): it is
// built with -tags chdb, and `make test` runs it so.
func TestCurrentClickHouse(t *testing.T) {
	unavailable(t, "the current-ClickHouse check is built with -tags chdb and needs libchdb: run `make test-current` (or `make test`)")
}
