package respond

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/riskpipe/riskpipe/internal/config"
)

// The rules read what the pipeline stored: attack_factor_latest for level
// rules, risk_events for category and event_type rules, each from a
// watermark on the time rows were written (updated_at, ingested_at), so a
// late event still counts. A rule firing again for an open action adds
// evidence to it; after an action for the same (user, action) was closed
// (rejected, expired, failed, succeeded), rules wait approval_ttl before
// proposing it again.

var levelOrder = []string{"low", "medium", "high", "critical"}

// levelsFrom lists level and the levels above it.
func levelsFrom(level string) []string {
	i := slices.Index(levelOrder, level)
	if i < 0 {
		return nil
	}
	return levelOrder[i:]
}

type ruleHit struct {
	userID, login string
	ev            Evidence
	reason        string
}

func (s *Service) runRules(ctx context.Context) {
	for _, t := range s.sortedTenants() {
		if t.okta == nil || len(t.cfg.Rules) == 0 {
			continue
		}
		if err := s.tenantRules(ctx, t); err != nil && ctx.Err() == nil {
			s.log.Warn("response rules failed; will retry", "tenant", t.name, "err", err)
		}
	}
}

func (s *Service) tenantRules(ctx context.Context, t *tenant) error {
	from := t.watermark
	mark := from
	type key struct {
		rule, user string
	}
	hits := map[key]*ruleHit{}
	var order []key
	add := func(rule, uid, login string, ev Evidence, reason string) {
		k := key{rule, uid}
		h := hits[k]
		if h == nil {
			h = &ruleHit{userID: uid, login: login, reason: reason}
			hits[k] = h
			order = append(order, k)
		}
		h.ev.merge(ev, "")
		h.ev.Proposals = 0
	}
	for _, r := range t.cfg.Rules {
		w := r.When
		switch {
		case w.Level != "":
			rows, err := s.audit.conn.Query(ctx, fmt.Sprintf(`SELECT user_id, user_login, score, level, cause_event_id, updated_at
FROM %s.attack_factor_latest FINAL
WHERE tenant = ? AND updated_at >= ? AND level IN (%s) AND user_id != ''
ORDER BY updated_at, user_id LIMIT 1000`, s.audit.db, quoteList(levelsFrom(w.Level))), t.name, from.UTC())
			if err != nil {
				return err
			}
			for rows.Next() {
				var uid, login, level, cause string
				var score float64
				var at time.Time
				if err := rows.Scan(&uid, &login, &score, &level, &cause, &at); err != nil {
					rows.Close()
					return err
				}
				ev := Evidence{Score: score, Level: level}
				if cause != "" {
					ev.EventIDs = []string{cause}
				}
				add(r.Name, uid, login, ev, fmt.Sprintf("rule %s: attack factor %s (score %.1f)", r.Name, level, score))
				if at.After(mark) {
					mark = at
				}
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
		default:
			cond, args := "category = ?", []any{w.Category}
			what := w.Category + " event"
			if w.EventType != "" {
				cond, args, what = "event_type = ?", []any{w.EventType}, w.EventType
				if w.RiskLevel != "" {
					cond += " AND risk_level = ?"
					args = append(args, w.RiskLevel)
					what += " " + w.RiskLevel
				}
			}
			rows, err := s.audit.conn.Query(ctx, fmt.Sprintf(`SELECT event_id, user_id, user_login, ingested_at
FROM %s.risk_events FINAL
WHERE tenant = ? AND ingested_at >= ? AND user_id != '' AND %s
ORDER BY ingested_at, event_id LIMIT 5000`, s.audit.db, cond), append([]any{t.name, from.UTC()}, args...)...)
			if err != nil {
				return err
			}
			for rows.Next() {
				var id, uid, login string
				var at time.Time
				if err := rows.Scan(&id, &uid, &login, &at); err != nil {
					rows.Close()
					return err
				}
				add(r.Name, uid, login, Evidence{EventIDs: []string{id}}, fmt.Sprintf("rule %s: %s", r.Name, what))
				if at.After(mark) {
					mark = at
				}
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
		}
	}
	for _, k := range order {
		h := hits[k]
		rule := ruleByName(t, k.rule)
		for _, act := range rule.Propose {
			if s.coolingDown(t, h.userID, act) {
				continue
			}
			p := Proposal{Tenant: t.name, Action: act, UserID: h.userID, Reason: h.reason, By: rule.Name, Evidence: h.ev, rule: true}
			if _, _, err := s.Propose(ctx, p); err != nil {
				if _, refused := errors.AsType[*ForbiddenError](err); refused {
					s.log.Info("response rule skipped a protected user", "tenant", t.name, "rule", rule.Name, "user", h.login, "why", err)
					continue
				}
				return err // the watermark stays: retried next sweep
			}
		}
	}
	t.watermark = mark
	return nil
}

func ruleByName(t *tenant, name string) config.ResponseRule {
	for _, r := range t.cfg.Rules {
		if r.Name == name {
			return r
		}
	}
	return config.ResponseRule{}
}

// coolingDown: an action for (user, action) was closed less than
// approval_ttl ago (an open one takes the evidence instead).
func (s *Service) coolingDown(t *tenant, uid string, act config.ResponseAction) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for _, a := range s.actions {
		if a.Tenant == t.name && a.UserID == uid && a.Action == act && a.State != "" && !a.State.Open() &&
			now.Sub(a.UpdatedAt) < t.cfg.ApprovalTTL {
			return true
		}
	}
	return false
}
