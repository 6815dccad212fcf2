package oktasim

import (
	"bytes"
	"container/heap"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

const (
	defaultLimit = 100
	maxLimit     = 1000
	defaultSince = 7 * 24 * time.Hour
	maxKeywords  = 10
	maxKeyword   = 40
)

// serveLogs is GET /api/v1/logs. Order of checks: a test's hold (hold.go),
// concurrency, delay and failing faults, auth, rate limit, parameters; then
// body and page faults.
func (o *Org) serveLogs(w *recorder, r *http.Request) {
	if r.Method != http.MethodGet {
		o.methodNotAllowed(w)
		return
	}
	if !o.hold(r) {
		return // the client went away while held
	}
	if !o.limits.enter() {
		o.concurrencyLimited(w, o.now())
		return
	}
	defer o.limits.leave()
	fx := o.faults.draw(EndpointLogs)
	o.countFaults(fx)
	if !applyDelay(r, fx.delay) {
		return
	}
	now := o.now()
	if fx.fail != nil {
		o.fail(w, fx.fail, now)
		return
	}
	p, ok := o.authenticate(w, r, now)
	if !ok || !o.mayReadLog(w, p) {
		return
	}
	if !o.limits.opts.Disabled {
		st, ok := o.limits.take(p.key, now)
		setRateHeaders(w.Header(), st)
		if !ok {
			o.rateLimited(w)
			return
		}
	}
	q, qerr := parseLogsQuery(r.URL.Query(), now)
	if qerr != nil {
		o.badRequest(w, qerr)
		return
	}

	ans := o.faults.drawAnswer(EndpointLogs)
	o.countFaults(ans)
	buf := getBuffer()
	defer putBuffer(buf)
	pg := pageWriter{buf: buf, missingUUID: ans.missingUUID}
	buf.WriteByte('[')
	v := o.log.view()
	var next *string
	if q.polling {
		next, qerr = o.pollPage(v, q, &pg, ans.duplicate, now)
	} else {
		next, qerr = o.boundedPage(v, q, &pg, ans.duplicate, now)
	}
	if qerr != nil {
		o.badRequest(w, qerr)
		return
	}
	buf.WriteByte(']')

	self := requestURL(r)
	if r.URL.RawQuery != "" {
		self += "?" + r.URL.RawQuery
	}
	w.Header().Add("Link", "<"+self+`>; rel="self"`)
	if next != nil {
		vals := cloneValues(q.values)
		if *next == "" {
			vals.Del("after")
		} else {
			vals.Set("after", *next)
		}
		w.Header().Add("Link", "<"+requestURL(r)+"?"+vals.Encode()+`>; rel="next"`)
	}
	o.stats.eventsServed.Add(int64(pg.n))
	writeBody(w, buf.Bytes(), ans.body, pg.cut())
}

// pollPage serves a polling request: persistence order from the after
// cursor or since; next is always set and repeats the position when
// nothing is new.
func (o *Org) pollPage(v logView, q *logsQuery, pg *pageWriter, duplicate int, now time.Time) (*string, *queryError) {
	end := v.visible(now)
	start := v.firstAtOrAfter(q.since)
	if q.after != "" { // after wins over since, as Okta's own next links carry both
		idx, ok := parsePollCursor(q.after)
		if !ok {
			return nil, invalidAfter()
		}
		start = idx
	}
	start = max(start, v.firstAtOrAfter(now.Add(-retention)))
	var picked []int64
	i := start
	for ; i < end && pg.n < q.limit; i++ {
		ev, _ := v.event(i)
		if !q.match(ev.Raw) {
			continue
		}
		pg.add(ev.Raw)
		if duplicate > 0 {
			picked = append(picked, i)
		}
	}
	if duplicate > 0 && pg.n > 0 {
		i = picked[pg.n-min(duplicate, pg.n)]
	}
	next := pollCursor(v, i)
	return &next, nil
}

// pollCursor encodes a log position Okta-style: <ms>_<index>, where ms is
// the persisted time of the event before the position.
func pollCursor(v logView, idx int64) string {
	var ms int64
	if idx > 0 && len(v.segs) > 0 && idx-1 < v.segs[len(v.segs)-1].end() {
		ms = v.persisted(idx - 1).UnixMilli()
	}
	return strconv.FormatInt(ms, 10) + "_" + strconv.FormatInt(idx, 10)
}

func parsePollCursor(s string) (int64, bool) {
	ms, idx, ok := strings.Cut(s, "_")
	if !ok {
		return 0, false
	}
	if _, err := strconv.ParseUint(ms, 10, 63); err != nil {
		return 0, false
	}
	n, err := strconv.ParseUint(idx, 10, 63)
	return int64(n), err == nil
}

// boundedPage serves a bounded request: events with since <= published <
// until (no upper bound without until), ordered by (published, index)
// ascending or descending, resumed after a keyset cursor; the last page has
// no next. It scans every retained event persisted since `since`: fine for
// tests and demos, linear in the log for million-event benchmarks.
func (o *Org) boundedPage(v logView, q *logsQuery, pg *pageWriter, duplicate int, now time.Time) (*string, *queryError) {
	var cur *eventKey
	if q.after != "" {
		k, ok := parseBoundedCursor(q.after)
		if !ok {
			return nil, invalidAfter()
		}
		cur = &k
	}
	lo := v.firstAtOrAfter(now.Add(-retention))
	hi := v.visible(now)
	// Generated events are never published after they are persisted, so
	// those persisted before since cannot match; injected ones might.
	genLo := max(lo, v.firstAtOrAfter(q.since))
	h := &keyHeap{desc: q.desc}
	for si := range v.segs {
		s := &v.segs[si]
		from, to := max(s.first, lo), min(s.end(), hi)
		if s.stored == nil {
			from = max(from, genLo)
		}
		for i := from; i < to; i++ {
			var pub time.Time
			if q.filter != nil || q.keywords != nil {
				ev, _ := v.event(i)
				if !q.match(ev.Raw) {
					continue
				}
				pub = ev.Published
			} else {
				pub = v.published(i)
			}
			if pub.IsZero() {
				pub = v.persisted(i)
			}
			if pub.Before(q.since) || q.hasUntil && !pub.Before(q.until) {
				continue
			}
			k := eventKey{pub: pub.UnixNano(), idx: i}
			if cur != nil && !h.before(*cur, k) {
				continue
			}
			h.offer(k, q.limit+1)
		}
	}
	keys := h.sorted()
	more := len(keys) > q.limit
	keys = keys[:min(len(keys), q.limit)]
	for _, k := range keys {
		ev, _ := v.event(k.idx)
		pg.add(ev.Raw)
	}
	var last *eventKey
	switch {
	case duplicate > 0 && len(keys) > 0:
		if j := len(keys) - min(duplicate, len(keys)) - 1; j >= 0 {
			last = &keys[j]
		} else {
			last = cur
		}
	case !more:
		return nil, nil
	case len(keys) > 0:
		last = &keys[len(keys)-1]
	default: // limit 0
		last = cur
	}
	next := ""
	if last != nil {
		next = base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, "%d.%d", last.pub, last.idx))
	}
	return &next, nil
}

func parseBoundedCursor(s string) (eventKey, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return eventKey{}, false
	}
	pub, idx, ok := strings.Cut(string(b), ".")
	if !ok {
		return eventKey{}, false
	}
	p, err1 := strconv.ParseInt(pub, 10, 64)
	i, err2 := strconv.ParseInt(idx, 10, 64)
	return eventKey{pub: p, idx: i}, err1 == nil && err2 == nil && i >= 0
}

// eventKey orders bounded results: published, then index.
type eventKey struct{ pub, idx int64 }

// keyHeap keeps the first n keys in result order; its top is the latest.
type keyHeap struct {
	desc bool
	keys []eventKey
}

// before reports whether a comes before b in result order.
func (h *keyHeap) before(a, b eventKey) bool {
	if h.desc {
		a, b = b, a
	}
	return a.pub < b.pub || a.pub == b.pub && a.idx < b.idx
}

func (h *keyHeap) Len() int           { return len(h.keys) }
func (h *keyHeap) Less(i, j int) bool { return h.before(h.keys[j], h.keys[i]) }
func (h *keyHeap) Swap(i, j int)      { h.keys[i], h.keys[j] = h.keys[j], h.keys[i] }
func (h *keyHeap) Push(x any)         { h.keys = append(h.keys, x.(eventKey)) }
func (h *keyHeap) Pop() any {
	k := h.keys[len(h.keys)-1]
	h.keys = h.keys[:len(h.keys)-1]
	return k
}

func (h *keyHeap) offer(k eventKey, n int) {
	switch {
	case n <= 0:
	case len(h.keys) < n:
		heap.Push(h, k)
	case h.before(k, h.keys[0]):
		h.keys[0] = k
		heap.Fix(h, 0)
	}
}

// sorted empties the heap into result order.
func (h *keyHeap) sorted() []eventKey {
	out := make([]eventKey, h.Len())
	for i := len(out) - 1; i >= 0; i-- {
		out[i] = heap.Pop(h).(eventKey)
	}
	return out
}

// logsQuery is a parsed /api/v1/logs request.
type logsQuery struct {
	values       url.Values // as received, for next links
	since, until time.Time
	hasUntil     bool // without until, bounded requests have no upper bound
	polling      bool
	desc         bool
	limit        int
	after        string
	filter       filterNode
	keywords     [][]byte // lowercased q keywords
}

func (q *logsQuery) match(raw []byte) bool {
	if q.keywords != nil {
		lower := bytes.ToLower(raw)
		for _, k := range q.keywords {
			if !bytes.Contains(lower, k) {
				return false
			}
		}
	}
	return q.filter == nil || q.filter.match(raw)
}

type queryError struct {
	code, summary string
	causes        []string
}

func validationError(param, cause string) *queryError {
	return &queryError{code: "E0000001", summary: "Api validation failed: " + param, causes: []string{param + ": " + cause}}
}

func invalidAfter() *queryError {
	return validationError("after", "The after cursor is invalid. Use the next link as returned.")
}

func parseLogsQuery(vals url.Values, now time.Time) (*logsQuery, *queryError) {
	q := &logsQuery{values: vals, limit: defaultLimit, after: vals.Get("after")}
	if s := vals.Get("limit"); s != "" {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 0 || n > maxLimit {
			return nil, validationError("limit", fmt.Sprintf("The limit must be an integer between 0 and %d.", maxLimit))
		}
		q.limit = n
	}
	switch strings.ToUpper(vals.Get("sortOrder")) {
	case "", "ASCENDING":
	case "DESCENDING":
		q.desc = true
	default:
		return nil, validationError("sortOrder", "The sortOrder must be ASCENDING or DESCENDING.")
	}
	q.until = now
	if s := vals.Get("until"); s != "" {
		t, ok := parseTimestamp(s)
		if !ok {
			return nil, badDate("until")
		}
		q.until, q.hasUntil = t, true
	}
	q.since = q.until.Add(-defaultSince)
	if s := vals.Get("since"); s != "" {
		t, ok := parseTimestamp(s)
		if !ok {
			return nil, badDate("since")
		}
		q.since = t
		if t.Before(now.Add(-maxSinceAge)) {
			return nil, &queryError{code: "E0000053", summary: "Invalid parameter: The since parameter is over 180 days prior to the current day."}
		}
	}
	q.polling = !q.hasUntil && !q.desc
	if !q.polling && q.since.After(q.until) {
		return nil, validationError("since", "The since parameter must not be after until.")
	}
	if s := vals.Get("filter"); strings.TrimSpace(s) != "" {
		f, err := parseFilter(s)
		if err != nil {
			fe := err.(*filterError)
			if fe.Code == "E0000031" {
				return nil, &queryError{code: fe.Code, summary: "Invalid search criteria.", causes: []string{fe.Detail}}
			}
			return nil, &queryError{code: fe.Code, summary: fe.Detail, causes: []string{fe.Detail}}
		}
		q.filter = f
	}
	if s := vals.Get("q"); strings.TrimSpace(s) != "" {
		words := strings.Fields(s)
		if len(words) > maxKeywords {
			return nil, validationError("q", fmt.Sprintf("Freeform search cannot contain more than %d items", maxKeywords))
		}
		for _, w := range words {
			if len(w) > maxKeyword {
				return nil, validationError("q", fmt.Sprintf("'q': Freeform search cannot contain items longer than %d characters", maxKeyword))
			}
			q.keywords = append(q.keywords, bytes.ToLower([]byte(w)))
		}
	}
	return q, nil
}

func badDate(param string) *queryError {
	return validationError(param, "The date format in your query is not recognized. Please enter dates using ISO8601 string format.")
}

// parseTimestamp accepts ISO 8601 forms Okta takes: 2017-09-17T15:41:12.994Z,
// 2017-06-10T00:00:00+00:00, 2017-06-10T00:00:00 (UTC), 2017-06-10.
func parseTimestamp(s string) (time.Time, bool) {
	s = strings.ReplaceAll(strings.TrimSpace(s), " ", "+") // an unencoded '+' arrives as a space
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999Z0700", "2006-01-02T15:04:05.999999999", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

func (o *Org) badRequest(w http.ResponseWriter, e *queryError) {
	writeOktaError(w, o.srv.newID("oae", 22), http.StatusBadRequest, e.code, e.summary, e.causes...)
}

func (o *Org) methodNotAllowed(w http.ResponseWriter) {
	writeOktaError(w, o.srv.newID("oae", 22), http.StatusMethodNotAllowed, "E0000022",
		"The endpoint does not support the provided HTTP method")
}

func (o *Org) countFaults(fx drawn) {
	for _, k := range fx.applied {
		o.stats.fault(k)
	}
}

// pageWriter appends raw events to a JSON array without re-encoding.
type pageWriter struct {
	buf         *bytes.Buffer
	n           int
	last        int // offset of the last event
	lastLen     int
	missingUUID bool
}

func (p *pageWriter) add(raw []byte) {
	if p.missingUUID {
		raw = stripUUID(raw)
	}
	if p.n > 0 {
		p.buf.WriteByte(',')
	}
	p.last, p.lastLen = p.buf.Len(), len(raw)
	p.buf.Write(raw)
	p.n++
}

// cut is where a mangled page is cut: in the middle of the last event.
func (p *pageWriter) cut() int {
	if p.n == 0 {
		return 1
	}
	return p.last + max(1, p.lastLen/2)
}

// stripUUID removes an event's top-level uuid (key order is not kept).
func stripUUID(raw []byte) []byte {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return raw
	}
	delete(m, "uuid")
	b, err := json.Marshal(m)
	if err != nil {
		return raw
	}
	return b
}

var bufferPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func getBuffer() *bytes.Buffer {
	b := bufferPool.Get().(*bytes.Buffer)
	b.Reset()
	return b
}

// putBuffer pools buffers up to 8 MiB (a full page of big events).
func putBuffer(b *bytes.Buffer) {
	if b.Cap() <= 8<<20 {
		bufferPool.Put(b)
	}
}
