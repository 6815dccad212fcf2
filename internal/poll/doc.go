// Package poll runs one poller per Okta org, like Prometheus scrape loops:
// each tenant has its own goroutine, a jittered start, a per-request timeout
// (in the okta client) and its own backoff, so a failing tenant slows down
// but never stops for good and never stalls the others.
//
// A poller's round: fetch the page at the cursor (the persisted rel="next"
// URL), classify its events, hand one store.Batch (kept events, dead
// letters, counts and the page's next link as the new cursor) to the writer
// and wait until ClickHouse confirmed it. Only then does the in-memory
// cursor move. While ClickHouse is down the poller keeps the one page it
// holds and retries the write with backoff: it neither fetches further nor
// advances its cursor, so memory stays bounded by one page per tenant.
//
// Pages are fetched back to back while they come back full (catching up);
// after a page with fewer events than the limit the poller sleeps the
// interval.
package poll
