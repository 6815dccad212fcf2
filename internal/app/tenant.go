package app

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/riskpipe/riskpipe/internal/classify"
	"github.com/riskpipe/riskpipe/internal/event"
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
	conn   driver.Conn // for Restore; nil: start from nothing
	db     string
	eng    *score.Engine
	now    func() time.Time
}

// newProcessor builds a tenant's classify → score step; attributionBytes
// is the tenant's share of memory.attribution_mib (0: the classifier's
// default bounds).
func newProcessor(tenant string, extra []string, cfg score.Config, conn driver.Conn, db string, attributionBytes int) *processor {
	var opts []classify.Option
	if attributionBytes > 0 {
		// The budget, and no more transactions than the default cap.
		opts = append(opts, classify.WithAttributionBytes(attributionBytes), classify.WithMaxTransactions(classify.DefaultMaxTransactions))
	}
	return &processor{tenant: tenant, cls: classify.New(extra, opts...), cfg: cfg, conn: conn, db: db, now: time.Now}
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
	if p.conn != nil {
		kept, users, latest, err := loadScoreState(ctx, p.conn, p.db, p.tenant, p.cfg.RestoreSince(now))
		if err != nil {
			return poll.Outcome{}, fmt.Errorf("restore attack factors: %w", err)
		}
		out = eng.Restore(kept, users, latest, now)
	}
	p.eng = eng
	return poll.Outcome{Scores: out}, nil
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
	out.Scores = p.eng.ObservePage(res.Seen, out.Events, now)
	if p.eng.RefreshDue(now) {
		r := p.eng.Refresh(now)
		out.Scores.Updates = append(out.Scores.Updates, r.Updates...)
		out.Scores.Activity = append(out.Scores.Activity, r.Activity...)
		out.Scores.Users = append(out.Scores.Users, r.Users...)
	}
	return out
}

// loadScoreState reads what score.Engine.Restore needs.
func loadScoreState(ctx context.Context, conn driver.Conn, db, tenant string, since score.Since) (
	kept []event.Event, users []score.OrgUser, latest []score.Update, err error,
) {
	rows, err := conn.Query(ctx, fmt.Sprintf(`SELECT event_id, published_ms, event_type, category, risk_level,
	risk_reasons, user_id, user_login, transaction_id
FROM %s.risk_events FINAL
WHERE tenant = ? AND published_note = '' AND published_ms >= ? AND (user_id != '' OR published_ms >= ?)
ORDER BY published_ms, event_id`, db), tenant, uint64(since.Signals.UnixMilli()), uint64(since.Events.UnixMilli()))
	if err != nil {
		return nil, nil, nil, err
	}
	for rows.Next() {
		var e event.Event
		var ms uint64
		var cat string
		if err := rows.Scan(&e.ID, &ms, &e.EventType, &cat, &e.RiskLevel, &e.RiskReasons, &e.UserID, &e.UserLogin, &e.TransactionID); err != nil {
			rows.Close()
			return nil, nil, nil, err
		}
		e.Published = time.UnixMilli(int64(ms)).UTC()
		e.Category = event.Category(cat)
		kept = append(kept, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, nil, err
	}

	rows, err = conn.Query(ctx, fmt.Sprintf(`SELECT user_id, argMax(user_login, version), min(first_seen), max(last_seen)
FROM %s.org_users WHERE tenant = ? GROUP BY user_id HAVING max(last_seen) > ?`, db), tenant, since.Users)
	if err != nil {
		return nil, nil, nil, err
	}
	for rows.Next() {
		u := score.OrgUser{Tenant: tenant}
		if err := rows.Scan(&u.UserID, &u.UserLogin, &u.FirstSeen, &u.LastSeen); err != nil {
			rows.Close()
			return nil, nil, nil, err
		}
		users = append(users, u)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, nil, err
	}

	rows, err = conn.Query(ctx, fmt.Sprintf(`SELECT user_id, user_login, updated_at, score, percentile, level, signals,
	cause_event_id, cause_category, explanation
FROM %s.attack_factor_latest FINAL WHERE tenant = ?`, db), tenant)
	if err != nil {
		return nil, nil, nil, err
	}
	defer rows.Close()
	for rows.Next() {
		u := score.Update{Tenant: tenant}
		if err := rows.Scan(&u.UserID, &u.UserLogin, &u.UpdatedAt, &u.Score, &u.Percentile, &u.Level, &u.Signals,
			&u.CauseEventID, &u.CauseCategory, &u.Explanation); err != nil {
			return nil, nil, nil, err
		}
		latest = append(latest, u)
	}
	return kept, users, latest, rows.Err()
}
