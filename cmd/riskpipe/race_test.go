//go:build race

package main

// raceEnabled: the test binary runs under the race detector, and so does
// the riskpipe binary the process tests build.
const raceEnabled = true
