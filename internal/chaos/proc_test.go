package chaos

import (
	"testing"

	"github.com/riskpipe/riskpipe/internal/simtest"
)

// binaryVersion is linked into the binary the suite builds.
const binaryVersion = "v0.0.0-chaos"

// proc is a riskpipe child process (internal/simtest, the harness shared
// with cmd/riskpipe's process tests).
type proc = simtest.Proc

// buildBinary builds the real riskpipe binary (without the race detector,
// so that it runs at production speed even when the suite itself runs
// under -race).
func buildBinary(t *testing.T) string { return simtest.Build(t, binaryVersion, false) }

func startProc(t *testing.T, bin, logFile string, args ...string) *proc {
	t.Helper()
	return simtest.Start(t, bin, logFile, args...)
}
