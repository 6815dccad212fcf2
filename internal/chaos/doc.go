// Package chaos is riskpipe's fault suite (issue 6): the real riskpipe
// binary, built once, runs against the Okta simulator (in the test process,
// over real sockets) and a private ClickHouse, while the suite kills it,
// stops ClickHouse under it, injects Okta faults and bad input, and stops it
// with SIGTERM under load. A checker compares what ClickHouse holds (read
// with FINAL) with the simulator's ground truth and reports lost,
// duplicated, extra and dead-lettered events per scenario.
//
//	go test ./internal/chaos/                          # the short suite (make test)
//	RISKPIPE_CHAOS=full go test -count=1 -timeout 60m -v -run TestChaos ./internal/chaos/
//
// The package holds only tests; the results of a full run are in
// docs/reliability.md.
package chaos
