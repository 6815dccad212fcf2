package simtest

import (
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// PortOutsideEphemeralRange returns a free loopback port below the
// kernel's ephemeral range: while a server of the test is stopped, no
// outgoing connection or :0 listener of the test process can take it, so
// the server can come back on the same port (the ClickHouse outage tests
// of internal/app and internal/chaos).
func PortOutsideEphemeralRange(tb testing.TB) int {
	tb.Helper()
	low := 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil {
				low = n
			}
		}
	}
	const base = 10000
	require.Greater(tb, low, base+1000, "ephemeral range starts too low")
	for range 100 {
		port := base + rand.IntN(low-base)
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			continue
		}
		ln.Close()
		return port
	}
	tb.Fatal("no free port below the ephemeral range")
	return 0
}
