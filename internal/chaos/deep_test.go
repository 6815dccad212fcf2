package chaos

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/oktasim/scenario"
)

// One event nested deeper than encoding/json's 10,000 levels used to make
// its whole page "invalid" (the page was split with json.Unmarshal into
// []json.RawMessage, which refuses the nesting), so the good risk events
// beside it ended up only in a dead letter. The body is valid JSON (RFC 8259
// sets no depth limit): the page is split by internal/okta's splitArray now,
// and only the deep element is the decoder's business.
func TestDeepEventKeepsItsPage(t *testing.T) {
	s := newSuite(t)
	const org = "deep"
	gen, err := scenario.New(scenario.Options{Org: org, Seed: s.seed, Users: 300, Scenario: scenario.ScenarioBench, RiskShare: 0.2})
	require.NoError(t, err)
	sm := newSim(t, s.seed, true, orgSpec{name: org, auth: authToken})
	d := s.deploy(t, sm, s.ch, newDatabase(t, s.ch), cfgSpec{pageLimit: 50})
	p := d.start()
	d.WaitIntegrated(p, 2*time.Minute)

	before, after := riskEventFrom(t, gen, 0, time.Now()), riskEventFrom(t, gen, 1, time.Now())
	deepID := newUUID()
	deep := append(append([]byte(`{"uuid":"`+deepID+`","eventType":"user.risk.detect","nested":`), nest(100_000)...), '}')
	sm.org(org).Inject(before.raw, deep, after.raw)
	d.WaitPositions(p, 3*time.Minute, "the cursor past the deep event", map[string]int64{org: sm.org(org).Len()})
	p.Terminate()

	got := d.db.stored(org)
	dls := d.db.deadLetters(org)
	var reasons []string
	for _, dl := range dls {
		reasons = append(reasons, dl.reason)
	}
	require.Contains(t, got.Categories, before.id, "the risk event before the deep one is not in risk_events; dead letters: %q", reasons)
	require.Contains(t, got.Categories, after.id, "the risk event after the deep one is not in risk_events; dead letters: %q", reasons)
	for _, r := range reasons {
		require.NotContains(t, r, "invalid page", "no page is dead-lettered whole")
	}
	_, kept := got.Categories[deepID]
	for _, dl := range dls {
		kept = kept || bytes.HasPrefix(dl.payload, []byte(`{"uuid":"`+deepID+`"`))
	}
	require.True(t, kept, "the deep event is kept or dead-lettered on its own; dead letters: %q", reasons)
}
