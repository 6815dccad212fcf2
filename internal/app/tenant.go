package app

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/riskpipe/riskpipe/internal/classify"
	"github.com/riskpipe/riskpipe/internal/poll"
	"github.com/riskpipe/riskpipe/internal/score"
	"github.com/riskpipe/riskpipe/internal/store"
)

// processor is one tenant's classify → score stage. Its methods are called
// by the tenant's poller goroutine only.
type processor struct {
	// mu serialises the poller's calls with forget (privacy deletions).
	mu     sync.Mutex
	sup    *suppressor // nil: no privacy suppression
	tenant string
	cls    *classify.Classifier
	cfg    score.Config
	st     *store.Store // for Restore; nil: start from nothing
	eng    *score.Engine
	now    func() time.Time
}

// newProcessor builds a tenant's classify → score step; attributionBytes
// is the tenant's share of memory.attribution_mib (0: the classifier's
// default bounds).
func newProcessor(tenant string, extra []string, cfg score.Config, st *store.Store, attributionBytes int) *processor {
	var opts []classify.Option
	if attributionBytes > 0 {
		// The budget, and no more transactions than the default cap.
		opts = append(opts, classify.WithAttributionBytes(attributionBytes), classify.WithMaxTransactions(classify.DefaultMaxTransactions))
	}
	return &processor{tenant: tenant, cls: classify.New(extra, opts...), cfg: cfg, st: st, now: time.Now}
}

// start builds the attack-factor engine from the tenant's integration time
// and restores it from ClickHouse (the tenant's kept events, population
// and latest factors), so a restart neither forgets nor double-counts.
func (p *processor) start(ctx context.Context, st store.PollState) (poll.Outcome, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	eng, err := score.NewEngine(p.tenant, st.IntegratedAt, p.cfg)
	if err != nil {
		return poll.Outcome{}, err
	}
	now := p.now()
	var out score.Output
	if p.st != nil {
		kept, users, latest, err := p.st.LoadScoreState(ctx, p.tenant, p.cfg.RestoreSince(now))
		if err != nil {
			return poll.Outcome{}, fmt.Errorf("restore attack factors: %w", err)
		}
		out = eng.Restore(kept, users, latest, now)
	}
	p.eng = eng
	return poll.Outcome{Rows: store.Batch{Scores: out}}, nil
}

// page classifies one page and scores its kept events.
func (p *processor) page(raws []json.RawMessage, now time.Time) poll.Outcome {
	p.mu.Lock()
	defer p.mu.Unlock()
	res := p.cls.Page(raws, now)
	p.sup.filter(p.tenant, &res)
	out := outcome(res, now)
	if p.eng == nil { // no start (tests of the classify stage alone)
		return out
	}
	scores := p.eng.ObservePage(res.Seen, out.Rows.Events, now)
	if p.eng.RefreshDue(now) {
		r := p.eng.Refresh(now)
		scores.Updates = append(scores.Updates, r.Updates...)
		scores.Activity = append(scores.Activity, r.Activity...)
		scores.Users = append(scores.Users, r.Users...)
	}
	out.Rows.Scores = scores
	return out
}
