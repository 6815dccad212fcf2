package store

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/riskpipe/riskpipe/internal/score"
)

// The read queries of the most-attacked-users list: attack_factor_latest
// (FINAL) filtered and ordered, joined with risk_events and
// attack_factor_updates for the users of one page. Scores are brought to
// the time of reading (ScoreAtSQL).

// UserFilter selects users of attack_factor_latest of Orgs (not empty).
type UserFilter struct {
	Orgs []string
	// Levels: only users whose level now (their score at Now in Bands) is
	// one of these, not the level stored with the last update.
	Levels []string
	Bands  score.Bands
	// Categories: only users with a kept event of one of these categories
	// published in [From, To).
	Categories []string
	// Changed: only users whose factor changed in [From, To).
	Changed  bool
	From, To time.Time
	// Now and HalfLife bring the stored scores to the time of reading.
	Now      time.Time
	HalfLife time.Duration
}

// where is the WHERE clause over attack_factor_latest of f.
func (r *Reader) userWhere(args *[]any, f UserFilter) string {
	w := "tenant IN " + in(args, f.Orgs)
	if len(f.Levels) > 0 {
		b := f.Bands
		w += fmt.Sprintf(" AND multiIf(%[1]s >= %[2]g, 'critical', %[1]s >= %[3]g, 'high', %[1]s >= %[4]g, 'medium', 'low') IN %[5]s",
			ScoreAtSQL(f.Now, f.HalfLife), b.Critical, b.High, b.Medium, in(args, f.Levels))
	}
	if len(f.Categories) > 0 {
		w += fmt.Sprintf(` AND (tenant, user_id) IN (
    SELECT tenant, user_id FROM %s
    WHERE tenant IN %s AND category IN %s AND published >= toDateTime(?) AND published < toDateTime(?)
)`, r.table("risk_events"), in(args, f.Orgs), in(args, f.Categories))
		*args = append(*args, f.From.Unix(), f.To.Unix())
	}
	if f.Changed {
		w += fmt.Sprintf(` AND (tenant, user_id) IN (
    SELECT tenant, user_id FROM %s
    WHERE tenant IN %s AND updated_at >= toDateTime(?) AND updated_at < toDateTime(?)
)`, r.table("attack_factor_updates"), in(args, f.Orgs))
		*args = append(*args, f.From.Unix(), f.To.Unix())
	}
	return w
}

// ScoresUpdatedAt is the newest factor update of orgs (not empty), UTC;
// the zero time (1970) when there is none.
func (r *Reader) ScoresUpdatedAt(ctx context.Context, orgs []string) (time.Time, error) {
	args := []any{}
	query := fmt.Sprintf("SELECT max(updated_at) FROM %s WHERE tenant IN %s", r.table("attack_factor_latest"), in(&args, orgs))
	var t time.Time
	if err := r.conn.QueryRow(ctx, query, args...).Scan(&t); err != nil {
		return time.Time{}, fmt.Errorf("newest factor update: %w", err)
	}
	return t.UTC(), nil
}

// CountUsers counts the users f selects.
func (r *Reader) CountUsers(ctx context.Context, f UserFilter) (uint64, error) {
	args := []any{}
	query := fmt.Sprintf("SELECT count() FROM %s FINAL WHERE %s", r.table("attack_factor_latest"), r.userWhere(&args, f))
	var n uint64
	if err := r.conn.QueryRow(ctx, query, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count users: %w", err)
	}
	return n, nil
}

// UserSort is what a page of users is ordered by (ties by tenant and user
// id, so that pages neither overlap nor leave gaps).
type UserSort string

// The orders of Users.
const (
	SortScore      UserSort = "score_now" // the score now
	SortSignals    UserSort = "signals"
	SortLastSignal UserSort = "last_signal" // the newest published of the user's kept events
	SortUpdatedAt  UserSort = "updated_at"
	SortLogin      UserSort = "user_login"
)

// UserRow is a user's latest factor, its score brought to now.
type UserRow struct {
	Tenant, UserID, UserLogin string
	Score, Percentile         float64 // Percentile as stored
	Level                     string  // as stored
	Signals                   uint32
	UpdatedAt                 time.Time // UTC
	// LastSignal is the newest published time of the user's kept events
	// (read only when ordered by it; else the zero time).
	LastSignal time.Time
}

func order(desc bool) string {
	if desc {
		return "desc"
	}
	return "asc"
}

// Users reads a page of the users f selects, ordered by by.
//
// Only SortLastSignal needs every user's newest kept event, read from
// risk_events over all of the orgs' users. Any other order reads
// attack_factor_latest alone (UserSignals fills LastSignal for the users
// of a page).
func (r *Reader) Users(ctx context.Context, f UserFilter, by UserSort, desc bool, limit, offset int) ([]UserRow, error) {
	if by == SortLastSignal {
		return r.usersByLastSignal(ctx, f, desc, limit, offset)
	}
	args := []any{}
	query := fmt.Sprintf(`SELECT tenant, user_id, user_login, %s AS score_now, percentile, level, signals, updated_at, toDateTime(0)
FROM %s FINAL
WHERE %s
ORDER BY %s %s, tenant, user_id
LIMIT %d, %d`, ScoreAtSQL(f.Now, f.HalfLife), r.table("attack_factor_latest"), r.userWhere(&args, f), by, order(desc), offset, limit)
	return r.scanUsers(ctx, query, args)
}

// TopUsersPerOrg reads each org's first n users f selects by score now.
func (r *Reader) TopUsersPerOrg(ctx context.Context, f UserFilter, desc bool, n int) ([]UserRow, error) {
	args := []any{}
	query := fmt.Sprintf(`SELECT tenant, user_id, user_login, %s AS score_now, percentile, level, signals, updated_at, toDateTime(0)
FROM %s FINAL
WHERE %s
ORDER BY score_now %s, tenant, user_id
LIMIT %d BY tenant`, ScoreAtSQL(f.Now, f.HalfLife), r.table("attack_factor_latest"), r.userWhere(&args, f), order(desc), n)
	return r.scanUsers(ctx, query, args)
}

// usersByLastSignal is Users ordered by last_signal: the page of
// attack_factor_latest joined with the newest published time of each
// user's kept events. It reads every kept event of the orgs. Both
// subqueries are named: ClickHouse since 20.x rejects joined subqueries
// without an alias (joined_subquery_requires_alias, ALIAS_REQUIRED).
func (r *Reader) usersByLastSignal(ctx context.Context, f UserFilter, desc bool, limit, offset int) ([]UserRow, error) {
	args := []any{}
	latestWhere := r.userWhere(&args, f)
	eventsIn := in(&args, f.Orgs)
	query := fmt.Sprintf(`SELECT tenant, user_id, user_login, score_now, percentile, level, signals, updated_at, last_signal
FROM
(
    SELECT tenant, user_id, user_login, `+ScoreAtSQL(f.Now, f.HalfLife)+` AS score_now, percentile, level, signals, updated_at
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
LIMIT %d, %d`, r.table("attack_factor_latest"), latestWhere, r.table("risk_events"), eventsIn, order(desc), offset, limit)
	return r.scanUsers(ctx, query, args)
}

// scanUsers runs a query of Users: the factor's columns and the last
// signal.
func (r *Reader) scanUsers(ctx context.Context, query string, args []any) ([]UserRow, error) {
	out := []UserRow{}
	err := r.eachRow(ctx, query, args, func(rows driver.Rows) error {
		var u UserRow
		if err := rows.Scan(&u.Tenant, &u.UserID, &u.UserLogin, &u.Score, &u.Percentile, &u.Level,
			&u.Signals, &u.UpdatedAt, &u.LastSignal); err != nil {
			return fmt.Errorf("scan user: %w", err)
		}
		u.UpdatedAt = u.UpdatedAt.UTC()
		out = append(out, u)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("query users: %w", err)
	}
	return out, nil
}

// UserKey identifies a user across orgs.
type UserKey struct{ Tenant, UserID string }

// usersFilter returns "tenant IN (...) AND user_id IN (...)" for users (a
// superset of the pairs: callers match pairs).
func usersFilter(args *[]any, users []UserKey) string {
	var tenants, ids []string
	for _, u := range users {
		tenants = append(tenants, u.Tenant)
		ids = append(ids, u.UserID)
	}
	slices.Sort(tenants)
	slices.Sort(ids)
	return "tenant IN " + in(args, slices.Compact(tenants)) + " AND user_id IN " + in(args, slices.Compact(ids))
}

// UserCategory is how many kept events of one category a user has in a
// range, and the newest published time of the user's kept events of that
// category (when asked for).
type UserCategory struct {
	UserKey
	Category string
	Events   uint64
	Last     time.Time
}

// UserSignals counts the kept events of users (not empty) published in
// [from, to) per user and category (uniqExact(event_id) counts replayed
// events once without FINAL); with last it also reads each category's
// newest published time of any age (and rows of 0 events). One scan of the
// users' orgs' risk_events either way, restricted to their ids; rows of
// other pairs of the orgs and ids may come back.
func (r *Reader) UserSignals(ctx context.Context, users []UserKey, from, to time.Time, last bool) ([]UserCategory, error) {
	since, until := from.Unix(), to.Unix()
	var filterArgs []any
	filter := usersFilter(&filterArgs, users)
	var (
		query string
		args  []any
	)
	if last {
		query = fmt.Sprintf(`SELECT tenant, user_id, category, uniqExactIf(event_id, published >= toDateTime(?) AND published < toDateTime(?)), maxIf(published, user_id != '')
FROM %s
WHERE %s
GROUP BY tenant, user_id, category`, r.table("risk_events"), filter)
		args = append([]any{since, until}, filterArgs...)
	} else {
		query = fmt.Sprintf(`SELECT tenant, user_id, category, uniqExact(event_id), toDateTime(0)
FROM %s
WHERE %s AND published >= toDateTime(?) AND published < toDateTime(?)
GROUP BY tenant, user_id, category`, r.table("risk_events"), filter)
		args = append(filterArgs, since, until)
	}
	var out []UserCategory
	err := r.eachRow(ctx, query, args, func(rows driver.Rows) error {
		var c UserCategory
		if err := rows.Scan(&c.Tenant, &c.UserID, &c.Category, &c.Events, &c.Last); err != nil {
			return fmt.Errorf("scan signals: %w", err)
		}
		out = append(out, c)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("query signals: %w", err)
	}
	return out, nil
}

// ScorePoint is a user's score at a time (attack_factor_updates).
type ScorePoint struct {
	UserKey
	UpdatedAt time.Time // UTC
	Score     float64
}

// ScoreHistories reads the newest n scores of each of users (not empty),
// newest first per user; rows of other pairs of the orgs and ids may come
// back.
func (r *Reader) ScoreHistories(ctx context.Context, users []UserKey, n int) ([]ScorePoint, error) {
	args := []any{}
	query := fmt.Sprintf(`SELECT tenant, user_id, updated_at, score
FROM %s
WHERE %s
ORDER BY tenant, user_id, updated_at DESC
LIMIT %d BY tenant, user_id`, r.table("attack_factor_updates"), usersFilter(&args, users), n)
	var out []ScorePoint
	err := r.eachRow(ctx, query, args, func(rows driver.Rows) error {
		var p ScorePoint
		if err := rows.Scan(&p.Tenant, &p.UserID, &p.UpdatedAt, &p.Score); err != nil {
			return fmt.Errorf("scan score history: %w", err)
		}
		p.UpdatedAt = p.UpdatedAt.UTC()
		out = append(out, p)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("query score history: %w", err)
	}
	return out, nil
}
