package poll

import (
	"testing"

	"github.com/riskpipe/riskpipe/internal/chtest"
)

// The poller tests need no ClickHouse, but chtest.Main also runs goleak:
// every poller, simulator server and okta client connection a test starts
// must be gone when the tests end.
func TestMain(m *testing.M) { chtest.Main(m) }
