package api

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/riskpipe/riskpipe/internal/score"
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

// sortColumns maps ?sort= to the ORDER BY expression. score_now is the
// score at the time of reading (readtime.go); percentile orders like it
// within an org (userRows).
var sortColumns = map[string]string{
	"score":       "score_now",
	"percentile":  "score_now",
	"signals":     "signals",
	"last_signal": "last_signal",
	"updated_at":  "updated_at",
	"login":       "user_login",
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
	f, err := parseUserFilters(r, a.s.Now())
	if err != nil {
		return nil, err
	}
	page := UserPage{Orgs: orgs, Sort: sort, Order: order, Offset: offset, Limit: limit, Users: []UserSummary{}, Filters: f}
	if len(orgs) == 0 {
		return page, nil
	}
	ctx := r.Context()
	if page.Total, err = a.countUsers(ctx, orgs, f); err != nil {
		return nil, err
	}
	if page.ScoresUpdatedAt, err = a.scoresUpdatedAt(ctx, orgs); err != nil {
		return nil, err
	}
	now := a.s.Now()
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

// where is the WHERE clause over attack_factor_latest of orgs and f.
func (a *API) userWhere(args *[]any, orgs []string, f UserFilters, now time.Time) string {
	w := "tenant IN " + in(args, orgs)
	if len(f.Level) > 0 {
		// The level at the time of reading, as the answer shows it
		// (rank), not the level stored with the last update.
		b := a.s.Score.Bands
		w += fmt.Sprintf(" AND multiIf(%[1]s >= %[2]g, 'critical', %[1]s >= %[3]g, 'high', %[1]s >= %[4]g, 'medium', 'low') IN %[5]s",
			a.scoreNowSQL(now), b.Critical, b.High, b.Medium, in(args, f.Level))
	}
	if len(f.Category) > 0 {
		w += fmt.Sprintf(` AND (tenant, user_id) IN (
    SELECT tenant, user_id FROM %s
    WHERE tenant IN %s AND category IN %s AND published >= toDateTime(?) AND published < toDateTime(?)
)`, a.table("risk_events"), in(args, orgs), in(args, f.Category))
		*args = append(*args, f.From.Unix(), f.To.Unix())
	}
	if f.Changed {
		w += fmt.Sprintf(` AND (tenant, user_id) IN (
    SELECT tenant, user_id FROM %s
    WHERE tenant IN %s AND updated_at >= toDateTime(?) AND updated_at < toDateTime(?)
)`, a.table("attack_factor_updates"), in(args, orgs))
		*args = append(*args, f.From.Unix(), f.To.Unix())
	}
	return w
}

// scoresUpdatedAt is the newest factor update of orgs.
func (a *API) scoresUpdatedAt(ctx context.Context, orgs []string) (*time.Time, error) {
	args := []any{}
	query := fmt.Sprintf("SELECT max(updated_at) FROM %s WHERE tenant IN %s", a.table("attack_factor_latest"), in(&args, orgs))
	var t time.Time
	if err := a.s.Conn.QueryRow(ctx, query, args...).Scan(&t); err != nil {
		return nil, fmt.Errorf("newest factor update: %w", err)
	}
	return timePtr(t.UTC()), nil
}

func (a *API) countUsers(ctx context.Context, orgs []string, f UserFilters) (uint64, error) {
	args := []any{}
	query := fmt.Sprintf("SELECT count() FROM %s FINAL WHERE %s", a.table("attack_factor_latest"), a.userWhere(&args, orgs, f, a.s.Now()))
	var n uint64
	if err := a.s.Conn.QueryRow(ctx, query, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count users: %w", err)
	}
	return n, nil
}

// userRows reads the page of users: their latest factor (FINAL). Ties are
// broken by (tenant, user_id), so pages neither overlap nor leave gaps.
//
// Only sorting by last_signal needs every user's newest kept event, read
// from risk_events over all of the orgs' users (lastSignalRows). Any other
// order reads attack_factor_latest alone, and addSignals fills LastSignal
// for the users of the page only.
func (a *API) userRows(ctx context.Context, orgs []string, f UserFilters, col, order string, limit, offset int, now time.Time) ([]UserSummary, error) {
	if col == sortColumns["last_signal"] {
		return a.lastSignalRows(ctx, orgs, f, order, limit, offset, now)
	}
	args := []any{}
	query := fmt.Sprintf(`SELECT tenant, user_id, user_login, %s AS score_now, percentile, level, signals, updated_at, toDateTime(0)
FROM %s FINAL
WHERE %s
ORDER BY %s %s, tenant, user_id
LIMIT %d, %d`, a.scoreNowSQL(now), a.table("attack_factor_latest"), a.userWhere(&args, orgs, f, now), col, order, offset, limit)
	return a.scanUsers(ctx, query, args)
}

// percentileRows is userRows ordered by percentile over several orgs,
// where percentile and score orders differ: each org's first offset+limit
// users by score are its first by percentile, and merging them gives the
// page.
func (a *API) percentileRows(ctx context.Context, orgs []string, f UserFilters, order string, limit, offset int, now time.Time,
	ranks map[string]score.Ranking) ([]UserSummary, error) {
	args := []any{}
	query := fmt.Sprintf(`SELECT tenant, user_id, user_login, %s AS score_now, percentile, level, signals, updated_at, toDateTime(0)
FROM %s FINAL
WHERE %s
ORDER BY score_now %s, tenant, user_id
LIMIT %d BY tenant`, a.scoreNowSQL(now), a.table("attack_factor_latest"), a.userWhere(&args, orgs, f, now), order, offset+limit)
	users, err := a.scanUsers(ctx, query, args)
	if err != nil {
		return nil, err
	}
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
		u.Percentile = ranks[u.Tenant].Percentile(u.Score)
		u.Level = a.s.Score.Bands.Level(u.Score)
	}
}

// lastSignalRows is userRows ordered by last_signal: the page of
// attack_factor_latest joined with the newest published time of each
// user's kept events. It reads every kept event of orgs. Both subqueries
// are named: ClickHouse since 20.x rejects joined subqueries without an
// alias (joined_subquery_requires_alias, ALIAS_REQUIRED).
func (a *API) lastSignalRows(ctx context.Context, orgs []string, f UserFilters, order string, limit, offset int, now time.Time) ([]UserSummary, error) {
	args := []any{}
	latestWhere := a.userWhere(&args, orgs, f, now)
	eventsIn := in(&args, orgs)
	query := fmt.Sprintf(`SELECT tenant, user_id, user_login, score_now, percentile, level, signals, updated_at, last_signal
FROM
(
    SELECT tenant, user_id, user_login, `+a.scoreNowSQL(now)+` AS score_now, percentile, level, signals, updated_at
    FROM %s FINAL
    WHERE %s
) AS latest
ANY LEFT JOIN
(
    SELECT tenant, user_id, max(published) AS last_signal
    FROM %s
    WHERE tenant IN %s AND user_id != ''
    GROUP BY tenant, user_id
) AS signal USING (tenant, user_id)
ORDER BY last_signal %s, tenant, user_id
LIMIT %d, %d`, a.table("attack_factor_latest"), latestWhere, a.table("risk_events"), eventsIn, order, offset, limit)
	return a.scanUsers(ctx, query, args)
}

// scanUsers runs a query of userRows: the factor's columns and the last
// signal (the zero time: none).
func (a *API) scanUsers(ctx context.Context, query string, args []any) ([]UserSummary, error) {
	rows, err := a.s.Conn.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("query users: %w", err)
	}
	defer rows.Close()
	out := []UserSummary{}
	for rows.Next() {
		var (
			u    UserSummary
			last time.Time
		)
		if err := rows.Scan(&u.Tenant, &u.UserID, &u.UserLogin, &u.Score, &u.Percentile, &u.Level,
			&u.SignalCount, &u.UpdatedAt, &last); err != nil {
			return nil, fmt.Errorf("scan user: %w", err)
		}
		u.UpdatedAt = u.UpdatedAt.UTC()
		u.LastSignal = timePtr(last)
		u.Signals = map[string]uint64{}
		u.History = []ScorePoint{}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read users: %w", err)
	}
	return out, nil
}

// userKey identifies a user across orgs.
type userKey struct{ tenant, id string }

// pageFilter returns "tenant IN (...) AND user_id IN (...)" for users (a
// superset of the pairs: callers match pairs) and a lookup of the pairs.
func pageFilter(args *[]any, users []UserSummary) (string, map[userKey]*UserSummary) {
	idx := map[userKey]*UserSummary{}
	var tenants, ids []string
	for i := range users {
		u := &users[i]
		idx[userKey{u.Tenant, u.UserID}] = u
		tenants = append(tenants, u.Tenant)
		ids = append(ids, u.UserID)
	}
	slices.Sort(tenants)
	slices.Sort(ids)
	return "tenant IN " + in(args, slices.Compact(tenants)) + " AND user_id IN " + in(args, slices.Compact(ids)), idx
}

// addSignals fills each user's kept events of [from, to) per
// category (uniqExact(event_id) counts replayed events once without
// FINAL). With lastSignal it also fills LastSignal where it is not set:
// the newest published time of the user's kept events, of any age. One
// scan of the users' orgs' risk_events either way, restricted to their ids.
func (a *API) addSignals(ctx context.Context, users []UserSummary, from, to time.Time, lastSignal bool) error {
	if len(users) == 0 {
		return nil
	}
	since, until := from.Unix(), to.Unix()
	var filterArgs []any
	filter, idx := pageFilter(&filterArgs, users)
	var (
		query string
		args  []any
	)
	if lastSignal {
		query = fmt.Sprintf(`SELECT tenant, user_id, category, uniqExactIf(event_id, published >= toDateTime(?) AND published < toDateTime(?)), maxIf(published, user_id != '')
FROM %s
WHERE %s
GROUP BY tenant, user_id, category`, a.table("risk_events"), filter)
		args = append([]any{since, until}, filterArgs...)
	} else {
		query = fmt.Sprintf(`SELECT tenant, user_id, category, uniqExact(event_id), toDateTime(0)
FROM %s
WHERE %s AND published >= toDateTime(?) AND published < toDateTime(?)
GROUP BY tenant, user_id, category`, a.table("risk_events"), filter)
		args = append(filterArgs, since, until)
	}
	rows, err := a.s.Conn.Query(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("query signals: %w", err)
	}
	defer rows.Close()
	last := map[*UserSummary]time.Time{}
	for rows.Next() {
		var (
			k     userKey
			cat   string
			n     uint64
			maxAt time.Time
		)
		if err := rows.Scan(&k.tenant, &k.id, &cat, &n, &maxAt); err != nil {
			return fmt.Errorf("scan signals: %w", err)
		}
		u := idx[k]
		if u == nil {
			continue
		}
		if n > 0 {
			u.Signals[cat] = n
		}
		if maxAt.After(last[u]) {
			last[u] = maxAt
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read signals: %w", err)
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
	args := []any{}
	filter, idx := pageFilter(&args, users)
	query := fmt.Sprintf(`SELECT tenant, user_id, updated_at, score
FROM %s
WHERE %s
ORDER BY tenant, user_id, updated_at DESC
LIMIT %d BY tenant, user_id`, a.table("attack_factor_updates"), filter, n)
	rows, err := a.s.Conn.Query(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("query score history: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			k userKey
			p ScorePoint
		)
		if err := rows.Scan(&k.tenant, &k.id, &p.UpdatedAt, &p.Score); err != nil {
			return fmt.Errorf("scan score history: %w", err)
		}
		p.UpdatedAt = p.UpdatedAt.UTC()
		if u := idx[k]; u != nil {
			u.History = append(u.History, p)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read score history: %w", err)
	}
	for i := range users {
		slices.Reverse(users[i].History)
	}
	return nil
}
