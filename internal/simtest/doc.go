// Package simtest is the one harness for tests that run the real riskpipe
// binary against the Okta simulator (cmd/riskpipe's process tests, the
// fault suite in internal/chaos): build the binary once, run it as a child
// process in its own process group with its output in a log file, signal
// it, wait for it and read its log. Like internal/chtest it is for tests
// only (the lint gate keeps it out of the product).
package simtest
