package chaos

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/corpus"
	"github.com/riskpipe/riskpipe/internal/event"
	"github.com/riskpipe/riskpipe/internal/oktasim/scenario"
)

// corpusDir holds real third-party Okta events, outside this repository.
const corpusDir = "../../../shared/corpus/okta"

// corpusEvent is one event of the corpus and whether its label says it is
// risk related (so it must be kept).
type corpusEvent struct {
	loc         string // file:line
	raw         []byte
	riskRelated bool
}

// readCorpus returns every corpus event; nil (after a log line) when the
// corpus is missing, which fails the test when CI=true.
func readCorpus(t *testing.T) []corpusEvent {
	t.Helper()
	if len(corpus.Files(corpusDir)) == 0 {
		if os.Getenv("CI") == "true" {
			t.Fatalf("corpus %s missing", corpusDir)
		}
		t.Logf("corpus %s missing: bad input runs without it", corpusDir)
		return nil
	}
	labels, err := os.ReadFile(filepath.Join(corpusDir, "labels.jsonl"))
	require.NoError(t, err)
	risky := map[string]bool{}
	for l := range bytes.Lines(labels) {
		var lab struct {
			Source      string `json:"source"`
			Line        int    `json:"line"`
			RiskRelated any    `json:"risk_related"`
		}
		require.NoError(t, json.Unmarshal(l, &lab))
		risky[fmt.Sprintf("%s:%d", lab.Source, lab.Line)] = lab.RiskRelated == true
	}
	lines, err := corpus.Read(corpusDir)
	require.NoError(t, err)
	out := make([]corpusEvent, 0, len(lines))
	for _, l := range lines {
		out = append(out, corpusEvent{loc: l.Loc, raw: l.Raw, riskRelated: risky[l.Loc]})
	}
	return out
}

// badInput injects into one org the corpus, a 1 MiB risk event, deeply
// nested JSON, events with a wrong JSON type in every field and array
// elements that are not objects, batch after batch, beside a normal org.
// riskpipe must never crash, its cursor must pass every batch, and every
// element must be kept, dropped (counted) or dead-lettered; the events
// that must be kept (risk-related corpus events, the big and the nested
// risk events, the normal risk events beside the bad ones) must be in
// risk_events.
func (s *suite) badInput(t *testing.T) {
	const org = "badinput"
	corpus := readCorpus(t)
	gen, err := scenario.New(scenario.Options{Org: org, Seed: s.seed, Users: 300, Scenario: scenario.ScenarioBench, RiskShare: 0.2})
	require.NoError(t, err)
	sm := newSim(t, s.seed+400, true,
		orgSpec{name: org, auth: authToken},
		orgSpec{name: "bystander", auth: authSecret, scenario: scenario.ScenarioBench, riskShare: 0.1, eps: 20})
	d := s.deploy(t, sm, s.ch, newDatabase(t, s.ch), cfgSpec{pageLimit: 50})
	p := d.start()
	d.WaitIntegrated(p, 2*time.Minute)

	mustKeep := map[string]string{} // event id → what it is
	injected := 0
	k := 0 // risk events of gen used so far
	risk := func(what string) []byte {
		ev := riskEventFrom(t, gen, k, time.Now())
		k++
		mustKeep[ev.id] = what
		return ev.raw
	}
	var phases []string
	var slowest time.Duration
	// inject appends one batch and waits until the cursor passed it.
	inject := func(what string, raws ...[]byte) {
		t.Helper()
		sm.org(org).Inject(raws...)
		injected += len(raws)
		end := sm.org(org).Len()
		took := d.WaitPositions(p, 3*time.Minute, "the cursor past "+what, map[string]int64{org: end})
		slowest = max(slowest, took)
		phases = append(phases, fmt.Sprintf("%s (%d)", what, len(raws)))
	}

	// The corpus: real events of 42 types from third parties.
	if len(corpus) > 0 {
		var raws [][]byte
		riskRelated := 0
		for _, c := range corpus {
			raws = append(raws, c.raw)
			if c.riskRelated {
				e, err := event.Decode(c.raw, time.Now())
				require.NoError(t, err, c.loc)
				mustKeep[e.ID] = "risk-related corpus event " + c.loc
				riskRelated++
			}
		}
		require.Positive(t, riskRelated)
		inject("corpus", raws...)
	}

	// A 1 MiB risk event between two normal ones.
	big := rewrite(t, risk("1 MiB risk event"), func(m map[string]any) {
		dc, _ := m["debugContext"].(map[string]any)
		if dc == nil {
			dc = map[string]any{}
			m["debugContext"] = dc
		}
		dd, _ := dc["debugData"].(map[string]any)
		if dd == nil {
			dd = map[string]any{}
			dc["debugData"] = dd
		}
		dd["padding"] = strings.Repeat("0123456789abcdef", 1<<16)
	})
	require.Greater(t, len(big), 1<<20)
	inject("1 MiB event", risk("risk event before the 1 MiB one"), big, risk("risk event after the 1 MiB one"))

	// Nesting: 5,000 levels inside a risk event (valid for any parser
	// with Go's 10,000 limit), then 100,000 levels in an event between
	// two normal risk events.
	const placeholder = "__NESTED__"
	nested5k := bytes.Replace(rewrite(t, risk("risk event nesting 5,000 levels"), func(m map[string]any) { m["nested"] = placeholder }),
		[]byte(`"`+placeholder+`"`), nest(5000), 1)
	inject("5,000 levels", nested5k)
	deepID := newUUID()
	mustKeep[deepID] = "risk event nesting 100,000 levels"
	deep := append(append([]byte(`{"uuid":"`+deepID+`","eventType":"user.risk.detect","published":"`+time.Now().UTC().Format(time.RFC3339Nano)+`","nested":`),
		nest(100_000)...), '}')
	inject("100,000 levels", risk("risk event before the 100,000-level one"), deep, risk("risk event after the 100,000-level one"))

	// A wrong JSON type in every field of a risk event, one field at a
	// time.
	base := riskEventFrom(t, gen, 10_000, time.Now()).raw
	var wrong [][]byte
	paths := jsonPaths(t, base)
	for r := range s.sz.wrongTypeReps {
		for i, path := range paths {
			wrong = append(wrong, rewrite(t, base, func(m map[string]any) {
				if !(len(path) == 1 && path[0] == "uuid") {
					m["uuid"] = newUUID()
				}
				setPath(m, path, func(old any) any { return wrongValue(old, i+r) })
			}))
		}
	}
	inject(fmt.Sprintf("wrong types in %d fields", len(paths)), wrong...)

	// Array elements that are not events at all.
	inject("not objects", []byte(`42`), []byte(`"not an event"`), []byte(`null`), []byte(`[1,2,3]`), []byte(`true`), []byte(`-0.5e10`), []byte(`{}`))

	p.Alive("after the bad input")
	end := d.stopTraffic()
	d.WaitPositions(p, 3*time.Minute, "every cursor at the end of its log", end)
	drain := p.Terminate() // exit 0, no panic in the log

	// Every element is kept, dropped or dead-lettered.
	dls := d.db.deadLetters(org)
	pages := deadLetteredPages(t, sm, org, dls)
	var pageEvents int64
	pageDL, elementDL := 0, 0
	reasons := map[string]int{}
	for _, dl := range dls {
		reason, _, _ := strings.Cut(dl.reason, ":")
		reasons[reason]++
		if strings.HasPrefix(dl.reason, "invalid page") {
			pageDL++
		} else {
			elementDL++
		}
	}
	for _, sp := range pages {
		pageEvents += sp.to - sp.from
	}
	require.Equal(t, pageDL, len(pages), "%s: dead-lettered pages that are not a served invalid body", org)
	polled := d.db.polledCount(org)
	keptRows := d.db.uint("SELECT sum(events) FROM "+d.db.table("event_type_counts")+" WHERE tenant = ? AND kept = 1", org)
	require.EqualValues(t, injected, int64(polled)+int64(elementDL)+pageEvents,
		"%s: %d injected, but %d polled (kept or dropped) + %d dead-lettered + %d in dead-lettered pages", org, injected, polled, elementDL, pageEvents)

	// The events that must be kept are.
	got := d.db.stored(org)
	var lost []string
	inDLPage := 0
	for id, what := range mustKeep {
		if _, ok := got.Categories[id]; ok {
			continue
		}
		found := false
		for _, sp := range pages {
			if bytes.Contains(sp.body, []byte(id)) {
				found = true
			}
		}
		if found {
			inDLPage++
			t.Logf("%s: %s (%s) is not in risk_events: it is in a page dead-lettered whole", org, id, what)
			continue
		}
		lost = append(lost, fmt.Sprintf("%s (%s)", id, what))
	}
	sort.Strings(lost)
	var reasonList []string
	for r, n := range reasons {
		reasonList = append(reasonList, fmt.Sprintf("%s ×%d", r, n))
	}
	sort.Strings(reasonList)
	s.add(row{scenario: "bad input", expected: len(mustKeep), lost: len(lost), duplicated: int(got.Rows - got.Unique), deadLettered: len(dls),
		recover: "cursor past each batch in ≤" + seconds(slowest),
		notes: fmt.Sprintf("%s; %d elements: %d polled (%d kept, %d dropped), %d dead-lettered (%s), %d in %d page(s) dead-lettered whole (of which %d must-keep events); no crash, exit 0 after %s",
			strings.Join(phases, ", "), injected, polled, keptRows, polled-keptRows, elementDL, strings.Join(reasonList, ", "), pageEvents, len(pages), inDLPage, seconds(drain))})

	// The bystander org was not disturbed.
	tr := sm.truth("bystander", d.Since["bystander"], end["bystander"], truthOptions{})
	by := check(t, sm, d.db, "bystander", tr)
	s.addResults("bad input: bystander org", "-", fmt.Sprintf("a normal org in the same process, %d events", tr.To-tr.From), by)

	require.Empty(t, lost, "%s: events that must be kept are missing", org)
	require.Empty(t, pages, "%s: no bad element may cost its whole page", org)
	require.Zero(t, got.Rows-got.Unique, "%s: duplicates", org)
	by.Require(t)
	d.requireOneIntegration()
}

// nest returns n nested JSON objects: {"a":{"a":...1...}}.
func nest(n int) []byte {
	var b bytes.Buffer
	b.Grow(6*n + 1)
	for range n {
		b.WriteString(`{"a":`)
	}
	b.WriteByte('1')
	for range n {
		b.WriteByte('}')
	}
	return b.Bytes()
}

// jsonPaths lists the path of every value below the root of an object
// (object keys as strings, array indexes as ints).
func jsonPaths(t *testing.T, raw []byte) [][]any {
	t.Helper()
	var root map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	require.NoError(t, dec.Decode(&root))
	var out [][]any
	var walk func(v any, path []any)
	walk = func(v any, path []any) {
		if len(path) > 0 {
			out = append(out, append([]any(nil), path...))
		}
		switch x := v.(type) {
		case map[string]any:
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				walk(x[k], append(path, k))
			}
		case []any:
			for i, e := range x {
				walk(e, append(path, i))
			}
		}
	}
	walk(root, nil)
	return out
}

// setPath replaces the value at path with f(old).
func setPath(m map[string]any, path []any, f func(any) any) {
	var cur any = m
	for i, step := range path {
		last := i == len(path)-1
		switch c := cur.(type) {
		case map[string]any:
			k := step.(string)
			if last {
				c[k] = f(c[k])
				return
			}
			cur = c[k]
		case []any:
			j := step.(int)
			if last {
				c[j] = f(c[j])
				return
			}
			cur = c[j]
		}
	}
}

// wrongValue returns a value of another JSON type than old (the n-th
// such candidate).
func wrongValue(old any, n int) any {
	candidates := []any{json.Number("12345"), "wrong type", true, nil, []any{}, map[string]any{},
		[]any{"a", json.Number("-1.5e300")}, map[string]any{"x": nil}, json.Number("0")}
	var fit []any
	for _, c := range candidates {
		if jsonKind(c) != jsonKind(old) {
			fit = append(fit, c)
		}
	}
	return fit[n%len(fit)]
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "bool"
	case json.Number, float64:
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	default:
		return "object"
	}
}
