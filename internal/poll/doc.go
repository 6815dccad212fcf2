// Package poll runs one poller per Okta org, like Prometheus scrape loops:
// each tenant has its own goroutine, a jittered start, a per-request timeout
// (in the okta client) and its own backoff, so a failing tenant slows down
// but never stops for good and never stalls the others.
//
// A poller's round: fetch the page at the cursor (the persisted rel="next"
// URL), classify its events, hand a store.Batch (kept events, dead letters,
// counts and the page's next link as the new cursor) to the writer, whose
// Write returns once ClickHouse confirmed it. Writes run behind the fetches:
// while one Write is in flight, the poller goes on fetching (from the last
// page's next link) and classifying, up to Settings.WritePages pages or
// WriteBytes of kept events, and hands those pages over together in the
// next Write once the one in flight is confirmed, so batches and cursors
// are written strictly in order and a busy org makes few, large inserts.
// Status and metrics count a page when its write is confirmed. While
// ClickHouse is down the poller keeps the batches it retries (as they are,
// never re-classified or refetched) and at most WritePages more pages,
// then waits: memory stays bounded per tenant, and ClickHouse stays the
// source of truth for the cursor.
//
// Pages are fetched back to back while they come back full (catching up);
// after a page with fewer events than the limit the poller waits for its
// write and sleeps until the interval since the round's start is over, or a
// full interval when the round (a catch-up) took longer than that.
package poll
