// Package bench is riskpipe's end-to-end load harness (cmd/riskbench,
// BENCHMARKS.md). A Harness owns a ClickHouse server (private, or attached)
// and a riskpipe binary; each measurement gets a fresh database, the Okta
// simulator (internal/oktasim, scenario "bench") on a loopback listener in
// this process, a generated riskpipe.yaml and `riskpipe run` as a child
// process, and then:
//
//   - RunBacklog: a backlog appended after every tenant is integrated, timed
//     until ClickHouse holds exactly the kept events the scenario's oracle
//     (Stream.Expect) predicts; riskpipe's CPU from /proc/<pid>/stat, its
//     peak RSS from VmHWM, requests from the simulator's counters;
//   - RunFreshness: a steady rate, and for every kept event the time from its
//     persistence in the simulator until the harness first sees its row;
//   - RunBudget: Okta requests while catching up under the org's limits and
//     per poll interval once caught up;
//   - RunQueries: the dashboard's and API's queries, served by the binary over
//     HTTP, over rows generated inside ClickHouse (INSERT ... SELECT).
//
// Setup.InProcess runs the pipeline through internal/app inside the harness
// instead, for CPU and heap profiles. Nothing here asserts speed: the tests
// check the accounting.
package bench
