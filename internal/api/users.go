package api

import (
	"cmp"
	"context"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/riskpipe/riskpipe/internal/score"
	"github.com/riskpipe/riskpipe/internal/store"
)

// UserSummary is one row of the most attacked users.
type UserSummary struct {
	Tenant     string  `json:"tenant"`
	UserID     string  `json:"user_id"`
	UserLogin  string  `json:"user_login"`
	Score      float64 `json:"score"`
	Percentile float64 `json:"percentile"`
	Level      string  `json:"level"`
	// SignalCount is the factor's count of weighted signals (30 days).
	SignalCount uint32 `json:"signal_count"`
	// Signals counts the user's kept events of the last 30 days per category.
	Signals map[string]uint64 `json:"signals"`
	// LastSignal is the newest published time of the user's kept events.
	LastSignal *time.Time `json:"last_signal"`
	UpdatedAt  time.Time  `json:"updated_at"`
	// History holds the newest factor updates (at most ?history=), oldest
	// first, for a sparkline.
	History []ScorePoint `json:"history"`
}

// ScorePoint is a score at a time.
type ScorePoint struct {
	UpdatedAt time.Time `json:"updated_at"`
	Score     float64   `json:"score"`
}

// UserPage is the answer of GET /api/v1/users.
type UserPage struct {
	Orgs   []string      `json:"orgs"`
	Sort   string        `json:"sort"`
	Order  string        `json:"order"`
	Offset int           `json:"offset"`
	Limit  int           `json:"limit"`
	Total  uint64        `json:"total"` // users with a factor in these orgs that pass the filters
	Users  []UserSummary `json:"users"`
	// Filters are the filters applied (echoed, normalised).
	Filters UserFilters `json:"filters"`
	// ScoresUpdatedAt is the newest factor update of these orgs, whatever
	// the filters (null: none yet): how fresh the scores are.
	ScoresUpdatedAt *time.Time `json:"scores_updated_at"`
}

// UserFilters narrow GET /api/v1/users. Signals counts the kept events of
// [From, To).
type UserFilters struct {
	From  time.Time `json:"from"`
	To    time.Time `json:"to"`
	Level []string  `json:"level"`
	// Category: only users with a kept event of one of these categories
	// published in [From, To).
	Category []string `json:"category"`
	// Changed: only users whose factor changed in [From, To).
	Changed bool `json:"changed"`
}

// sortColumns maps ?sort= to the order of store.Reader.Users. The score
// is the score at the time of reading (readtime.go); percentile orders
// like it within an org (userRows).
var sortColumns = map[string]store.UserSort{
	"score":       store.SortScore,
	"percentile":  store.SortScore,
	"signals":     store.SortSignals,
	"last_signal": store.SortLastSignal,
	"updated_at":  store.SortUpdatedAt,
	"login":       store.SortLogin,
}

var sortKeys = []string{"score", "percentile", "signals", "last_signal", "updated_at", "login"}

// signalWindow is how far back Signals and SignalCount look.
const signalWindow = 30 * 24 * time.Hour

func (a *API) topUsers(r *http.Request) (any, error) {
	orgs, err := queryOrgs(r)
	if err != nil {
		return nil, err
	}
	sort, err := enumParam(r, "sort", sortKeys...)
	if err != nil {
		return nil, err
	}
	order, err := enumParam(r, "order", "desc", "asc")
	if err != nil {
		return nil, err
	}
	limit, err := intParam(r, "limit", 50, 1, 500)
	if err != nil {
		return nil, err
	}
	offset, err := intParam(r, "offset", 0, 0, 1_000_000)
	if err != nil {
		return nil, err
	}
	histN, err := intParam(r, "history", 30, 0, 500)
	if err != nil {
		return nil, err
	}
	now := a.s.Now() // one instant for the filters, the count and the page
	f, err := parseUserFilters(r, now)
	if err != nil {
		return nil, err
	}
	page := UserPage{Orgs: orgs, Sort: sort, Order: order, Offset: offset, Limit: limit, Users: []UserSummary{}, Filters: f}
	if len(orgs) == 0 {
		return page, nil
	}
	ctx := r.Context()
	if page.Total, err = a.r.CountUsers(ctx, a.userFilter(orgs, f, now)); err != nil {
		return nil, err
	}
	if page.ScoresUpdatedAt, err = a.scoresUpdatedAt(ctx, orgs); err != nil {
		return nil, err
	}
	ranks, err := a.rankings(ctx, orgs, now)
	if err != nil {
		return nil, err
	}
	if sort == "percentile" && len(orgs) > 1 {
		page.Users, err = a.percentileRows(ctx, orgs, f, order, limit, offset, now, ranks)
	} else {
		page.Users, err = a.userRows(ctx, orgs, f, sortColumns[sort], order, limit, offset, now)
		a.rank(page.Users, ranks)
	}
	if err != nil {
		return nil, err
	}
	if err := a.addSignals(ctx, page.Users, f.From, f.To, sort != "last_signal"); err != nil {
		return nil, err
	}
	if err := a.addHistory(ctx, page.Users, histN); err != nil {
		return nil, err
	}
	return page, nil
}

// parseUserFilters reads level, category, from, to and changed; the
// range defaults to the 30 days before now.
func parseUserFilters(r *http.Request, now time.Time) (UserFilters, error) {
	f := UserFilters{Level: []string{}, Category: []string{}}
	var err error
	if f.To, err = timeParam(r, "to", now); err != nil {
		return f, err
	}
	if f.From, err = timeParam(r, "from", f.To.Add(-signalWindow)); err != nil {
		return f, err
	}
	f.From, f.To = f.From.UTC(), f.To.UTC()
	if !f.From.Before(f.To) {
		return f, badRequest("from must be before to")
	}
	if f.Level, err = listParam(r, "level", levels); err != nil {
		return f, err
	}
	if f.Category, err = listParam(r, "category", categories); err != nil {
		return f, err
	}
	switch v := r.URL.Query().Get("changed"); v {
	case "", "false", "0":
	case "true", "1":
		f.Changed = true
	default:
		return f, badRequest("changed: want true or false, got %q", v)
	}
	return f, nil
}

// levels are the values of attack_factor_latest.level.
var levels = []string{"low", "medium", "high", "critical"}

// listParam reads a repeated or comma-separated parameter whose values
// must be in allowed; sorted, without duplicates.
func listParam(r *http.Request, name string, allowed []string) ([]string, error) {
	out := []string{}
	for _, v := range r.URL.Query()[name] {
		for _, item := range strings.Split(v, ",") {
			if item = strings.TrimSpace(item); item == "" {
				continue
			}
			if !slices.Contains(allowed, item) {
				return nil, badRequest("%s: %q is not one of %s", name, item, strings.Join(allowed, ", "))
			}
			out = append(out, item)
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// userFilter is f over orgs as store.Reader's filter, at now.
func (a *API) userFilter(orgs []string, f UserFilters, now time.Time) store.UserFilter {
	return store.UserFilter{Orgs: orgs, Levels: f.Level, Bands: a.s.Score.Bands, Categories: f.Category,
		Changed: f.Changed, From: f.From, To: f.To, Now: now, HalfLife: a.s.Score.HalfLife}
}

// scoresUpdatedAt is the newest factor update of orgs.
func (a *API) scoresUpdatedAt(ctx context.Context, orgs []string) (*time.Time, error) {
	t, err := a.r.ScoresUpdatedAt(ctx, orgs)
	if err != nil {
		return nil, err
	}
	return timePtr(t), nil
}

// userRows reads the page of users: their latest factor (FINAL). Ties are
// broken by (tenant, user_id), so pages neither overlap nor leave gaps.
//
// Only sorting by last_signal needs every user's newest kept event, read
// from risk_events over all of the orgs' users. Any other order reads
// attack_factor_latest alone, and addSignals fills LastSignal for the
// users of the page only.
func (a *API) userRows(ctx context.Context, orgs []string, f UserFilters, by store.UserSort, order string, limit, offset int, now time.Time) ([]UserSummary, error) {
	rows, err := a.r.Users(ctx, a.userFilter(orgs, f, now), by, order == "desc", limit, offset)
	return userSummaries(rows), err
}

// userSummaries shapes the rows of store.Reader.Users.
func userSummaries(rows []store.UserRow) []UserSummary {
	out := make([]UserSummary, len(rows))
	for i, r := range rows {
		out[i] = UserSummary{Tenant: r.Tenant, UserID: r.UserID, UserLogin: r.UserLogin, Score: r.Score,
			Percentile: r.Percentile, Level: r.Level, SignalCount: r.Signals, UpdatedAt: r.UpdatedAt,
			LastSignal: timePtr(r.LastSignal), Signals: map[string]uint64{}, History: []ScorePoint{}}
	}
	return out
}

// percentileRows is userRows ordered by percentile over several orgs,
// where percentile and score orders differ: each org's first offset+limit
// users by score are its first by percentile, and merging them gives the
// page.
func (a *API) percentileRows(ctx context.Context, orgs []string, f UserFilters, order string, limit, offset int, now time.Time,
	ranks map[string]score.Ranking) ([]UserSummary, error) {
	rows, err := a.r.TopUsersPerOrg(ctx, a.userFilter(orgs, f, now), order == "desc", offset+limit)
	if err != nil {
		return nil, err
	}
	users := userSummaries(rows)
	a.rank(users, ranks)
	slices.SortFunc(users, func(x, y UserSummary) int {
		c := cmp.Compare(x.Percentile, y.Percentile)
		if order == "desc" {
			c = -c
		}
		return cmp.Or(c, cmp.Compare(x.Tenant, y.Tenant), cmp.Compare(x.UserID, y.UserID))
	})
	if offset >= len(users) {
		return []UserSummary{}, nil
	}
	return users[offset:min(len(users), offset+limit)], nil
}

// rank sets each user's percentile and level from their score now.
func (a *API) rank(users []UserSummary, ranks map[string]score.Ranking) {
	for i := range users {
		u := &users[i]
		u.Percentile, u.Level = a.s.Score.Rank(ranks[u.Tenant], u.Score)
	}
}

// pageUsers returns the keys of users and a lookup of them.
func pageUsers(users []UserSummary) ([]store.UserKey, map[store.UserKey]*UserSummary) {
	idx := map[store.UserKey]*UserSummary{}
	keys := make([]store.UserKey, len(users))
	for i := range users {
		u := &users[i]
		keys[i] = store.UserKey{Tenant: u.Tenant, UserID: u.UserID}
		idx[keys[i]] = u
	}
	return keys, idx
}

// addSignals fills each user's kept events of [from, to) per category.
// With lastSignal it also fills LastSignal where it is not set: the newest
// published time of the user's kept events, of any age
// (store.Reader.UserSignals).
func (a *API) addSignals(ctx context.Context, users []UserSummary, from, to time.Time, lastSignal bool) error {
	if len(users) == 0 {
		return nil
	}
	keys, idx := pageUsers(users)
	counts, err := a.r.UserSignals(ctx, keys, from, to, lastSignal)
	if err != nil {
		return err
	}
	last := map[*UserSummary]time.Time{}
	for _, c := range counts {
		u := idx[c.UserKey]
		if u == nil {
			continue
		}
		if c.Events > 0 {
			u.Signals[c.Category] = c.Events
		}
		if c.Last.After(last[u]) {
			last[u] = c.Last
		}
	}
	for u, t := range last {
		if u.LastSignal == nil {
			u.LastSignal = timePtr(t)
		}
	}
	return nil
}

// addHistory fills each user's newest n scores, oldest first.
func (a *API) addHistory(ctx context.Context, users []UserSummary, n int) error {
	if len(users) == 0 || n == 0 {
		return nil
	}
	keys, idx := pageUsers(users)
	points, err := a.r.ScoreHistories(ctx, keys, n)
	if err != nil {
		return err
	}
	for _, p := range points {
		if u := idx[p.UserKey]; u != nil {
			u.History = append(u.History, ScorePoint{UpdatedAt: p.UpdatedAt, Score: p.Score})
		}
	}
	for i := range users {
		slices.Reverse(users[i].History)
	}
	return nil
}
