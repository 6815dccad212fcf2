package app

import (
	"testing"

	"github.com/riskpipe/riskpipe/internal/chtest"
)

// One ClickHouse server for the package (a fresh database per test), and
// goleak at the end: every App, simulator and connection a test starts
// must be gone.
func TestMain(m *testing.M) { chtest.Main(m) }
