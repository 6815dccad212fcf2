package app

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/classify"
	"github.com/riskpipe/riskpipe/internal/corpus"
	"github.com/riskpipe/riskpipe/internal/event"
)

// corpusDir holds real third-party Okta events, outside this repository.
const corpusDir = "../../../shared/corpus/okta"

// corpusLine is one corpus event and where it comes from.
type corpusLine struct {
	loc string // file:line
	raw []byte
}

// readCorpus returns every event of the corpus (labels.jsonl aside). Without
// the corpus the test is skipped, or fails when CI=true.
func readCorpus(t *testing.T) []corpusLine {
	t.Helper()
	if len(corpus.Files(corpusDir)) == 0 {
		if os.Getenv("CI") == "true" {
			t.Fatalf("corpus %s missing", corpusDir)
		}
		t.Skipf("corpus %s missing", corpusDir)
	}
	lines, err := corpus.Read(corpusDir)
	require.NoError(t, err)
	out := make([]corpusLine, 0, len(lines))
	for _, l := range lines {
		out = append(out, corpusLine{loc: l.Loc, raw: l.Raw})
	}
	return out
}

// Every corpus event, and a few array elements that are not events at all,
// go through the whole pipeline: each is kept (a row in risk_events),
// dropped (counted in event_type_counts) or dead-lettered, and the sums
// match what was injected.
func TestCorpusThroughThePipeline(t *testing.T) {
	t.Parallel()
	lines := readCorpus(t)
	require.Greater(t, len(lines), 100)
	notEvents := [][]byte{[]byte(`"not an event"`), []byte(`42`), []byte(`[1,2,3]`), []byte(`null`), []byte(`true`)}

	h := newHarness(t, nil, orgSpec{name: "corpus", scenario: "none"})
	tn := h.tenant("corpus")
	tn.Poll.PageLimit = 40 // several pages
	r := h.start(t, h.config(tn), nil)
	r.integrated(t, "corpus")

	var raws [][]byte
	for _, l := range lines {
		raws = append(raws, l.raw)
	}
	raws = append(raws, notEvents...)
	h.orgs["corpus"].org.Inject(raws...)
	injected := len(raws)
	eventually(t, waitFor, func() bool { return h.caughtUp(t, "corpus") }, "every injected event fetched and written")
	r.stop(t) // ran without crashing

	// The oracle: the classifier on the same input, in one page.
	var input []json.RawMessage
	for _, raw := range raws {
		input = append(input, raw)
	}
	res := classify.New(nil).Page(input, time.Now())
	dropped := 0
	for _, d := range res.Dropped {
		dropped += d.Count
	}
	require.Equal(t, injected, len(res.Kept)+dropped+len(res.DeadLetters))
	require.Len(t, res.DeadLetters, len(notEvents))

	// Kept + dropped + dead-lettered = injected, as ClickHouse counts them.
	keptCount := h.uint(t, "SELECT sum(events) FROM "+h.table("event_type_counts")+" WHERE tenant = 'corpus' AND kept = 1")
	droppedCount := h.uint(t, "SELECT sum(events) FROM "+h.table("event_type_counts")+" WHERE tenant = 'corpus' AND kept = 0")
	dead := h.uint(t, "SELECT count() FROM "+h.table("dead_letters")+" FINAL WHERE tenant = 'corpus'")
	require.EqualValues(t, len(res.Kept), keptCount)
	require.EqualValues(t, dropped, droppedCount)
	require.EqualValues(t, len(notEvents), dead)
	require.EqualValues(t, injected, keptCount+droppedCount+dead)

	// Per event type and reason, ClickHouse agrees with the oracle.
	want := map[string]uint64{}
	for _, e := range res.Kept {
		want[fmt.Sprintf("%s|kept|%s", e.EventType, e.Category)]++
	}
	for _, d := range res.Dropped {
		want[fmt.Sprintf("%s|dropped|%s", d.EventType, d.Reason)] += uint64(d.Count)
	}
	rows, err := h.read.Conn().Query(t.Context(), "SELECT event_type, kept, reason, sum(events) FROM "+
		h.table("event_type_counts")+" WHERE tenant = 'corpus' GROUP BY event_type, kept, reason")
	require.NoError(t, err)
	got := map[string]uint64{}
	for rows.Next() {
		var typ, reason string
		var kept uint8
		var n uint64
		require.NoError(t, rows.Scan(&typ, &kept, &reason, &n))
		k := "dropped"
		if kept == 1 {
			k = "kept"
		}
		got[fmt.Sprintf("%s|%s|%s", typ, k, reason)] = n
	}
	require.NoError(t, rows.Err())
	rows.Close()
	require.Equal(t, want, got)

	// risk_events holds exactly the kept events (the corpus reuses some
	// uuids, so compare distinct ids).
	keptIDs := map[string]bool{}
	for _, e := range res.Kept {
		keptIDs[e.ID] = true
	}
	gotIDs := map[string]bool{}
	for id := range h.kept(t, "corpus") {
		gotIDs[id] = true
	}
	require.Equal(t, keptIDs, gotIDs)

	// Independently of the classifier: every event the corpus labels as
	// risk related is kept.
	labels, err := os.ReadFile(filepath.Join(corpusDir, "labels.jsonl"))
	require.NoError(t, err)
	byLoc := map[string][]byte{}
	for _, l := range lines {
		byLoc[l.loc] = l.raw
	}
	riskRelated := 0
	for l := range bytes.Lines(labels) {
		var lab struct {
			Source      string `json:"source"`
			Line        int    `json:"line"`
			RiskRelated any    `json:"risk_related"`
		}
		require.NoError(t, json.Unmarshal(l, &lab))
		if lab.RiskRelated != true {
			continue
		}
		riskRelated++
		raw, ok := byLoc[fmt.Sprintf("%s:%d", lab.Source, lab.Line)]
		require.True(t, ok, "%s:%d", lab.Source, lab.Line)
		e, err := event.Decode(raw, time.Now())
		require.NoError(t, err)
		require.True(t, gotIDs[e.ID], "%s:%d (%s) is risk related but not kept", lab.Source, lab.Line, e.EventType)
	}
	require.Positive(t, riskRelated)

	// The dead letters say why.
	rows, err = h.read.Conn().Query(t.Context(), "SELECT reason FROM "+h.table("dead_letters")+" FINAL WHERE tenant = 'corpus'")
	require.NoError(t, err)
	defer rows.Close()
	for rows.Next() {
		var reason string
		require.NoError(t, rows.Scan(&reason))
		require.True(t, strings.HasPrefix(reason, classify.DeadLetterNotObject), reason)
	}
	require.NoError(t, rows.Err())
}
