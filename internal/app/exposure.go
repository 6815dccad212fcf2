package app

import (
	"net"
	"strings"
)

// exposureWarnings are the warnings riskpipe logs at start about where its
// HTTP server listens (http.listen): on every interface (0.0.0.0, ::, or
// no host), or on an address other hosts reach while no API token is
// configured. /metrics and /healthz need no token, so the tenants' names
// and the pollers' health are then served to the network, and the
// dashboard answers 401 to everyone.
func exposureWarnings(listen string, tokens int) []string {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		host = listen
	}
	var out []string
	ip := net.ParseIP(strings.Trim(host, "[]"))
	wildcard := host == "" || (ip != nil && ip.IsUnspecified())
	if wildcard {
		out = append(out, "http.listen "+listen+" listens on every network interface: "+
			"/metrics and /healthz (no token needed) are reachable from other hosts; bind a specific address, e.g. 127.0.0.1:8080")
	}
	loopback := host == "localhost" || (ip != nil && ip.IsLoopback())
	if !loopback && tokens == 0 {
		out = append(out, "http.listen "+listen+" is reachable from other hosts and no api.tokens are configured: "+
			"/metrics serves the tenants' names and counters to anyone, and the API and dashboard answer 401 to every request")
	}
	return out
}
