package store

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// The user search's reads (GET /api/v1/users/search): ids and logins from
// the orgs' population (org_users) and scored users (attack_factor_latest),
// display names from the kept events' raw JSON (risk_events), and the
// found users' scores now.

// UserHit is a user a search found; Name is empty unless it came from the
// events.
type UserHit struct {
	Tenant, UserID, UserLogin, Name string
}

func (r *Reader) hits(ctx context.Context, query string, args []any) ([]UserHit, error) {
	var out []UserHit
	err := r.eachRow(ctx, query, args, func(rows driver.Rows) error {
		var h UserHit
		if err := rows.Scan(&h.Tenant, &h.UserID, &h.UserLogin, &h.Name); err != nil {
			return err
		}
		out = append(out, h)
		return nil
	})
	return out, err
}

// SearchIDsLogins returns the users of orgs whose id or login contains q
// (case-insensitive), at most limit, those matching at the start first.
// The login is org_users' (the directory's), else the factor's; the least
// of several, so the answer does not depend on the parts' order.
func (r *Reader) SearchIDsLogins(ctx context.Context, orgs []string, q string, limit int) ([]UserHit, error) {
	args := []any{}
	idOrLogin := "(positionCaseInsensitiveUTF8(user_login, ?) > 0 OR positionCaseInsensitiveUTF8(user_id, ?) > 0)"
	popIn := in(&args, orgs)
	args = append(args, q, q)
	latestIn := in(&args, orgs)
	args = append(args, q, q, q, q)
	query := fmt.Sprintf(`SELECT tenant, user_id, if(countIf(src = 0) > 0, minIf(user_login, src = 0), min(user_login)) AS login, ''
FROM
(
    SELECT tenant, user_id, user_login, 0 AS src FROM %s WHERE tenant IN %s AND %s
    UNION ALL
    SELECT tenant, user_id, user_login, 1 AS src FROM %s WHERE tenant IN %s AND %s
) AS found
GROUP BY tenant, user_id
ORDER BY (positionCaseInsensitiveUTF8(login, ?) = 1 OR positionCaseInsensitiveUTF8(user_id, ?) = 1) DESC, login, tenant, user_id
LIMIT %d`, r.table("org_users"), popIn, idOrLogin, r.table("attack_factor_latest"), latestIn, idOrLogin, limit)
	return r.hits(ctx, query, args)
}

// SearchNames returns the users of orgs whose display name contains q
// (case-insensitive), at most limit: the actor name nameRE extracts from
// the raw JSON of the kept events published since, where the user is the
// actor.
func (r *Reader) SearchNames(ctx context.Context, orgs []string, q, nameRE string, since time.Time, limit int) ([]UserHit, error) {
	args := []any{nameRE, since.Unix()}
	eventsIn := in(&args, orgs)
	args = append(args, q, q)
	query := fmt.Sprintf(`SELECT tenant, user_id, max(user_login), max(name)
FROM
(
    SELECT tenant, user_id, user_login, extract(raw, ?) AS name
    FROM %s
    PREWHERE published >= toDateTime(?)
    WHERE tenant IN %s AND user_id != '' AND actor_id = user_id AND positionCaseInsensitiveUTF8(raw, ?) > 0
) AS named
WHERE positionCaseInsensitiveUTF8(name, ?) > 0
GROUP BY tenant, user_id
ORDER BY tenant, user_id
LIMIT %d`, r.table("risk_events"), eventsIn, limit)
	return r.hits(ctx, query, args)
}

// ScoresNow returns the scores of users in attack_factor_latest brought to
// now (ScoreAtSQL); users without a factor are absent.
func (r *Reader) ScoresNow(ctx context.Context, users []UserKey, now time.Time, halfLife time.Duration) (map[UserKey]float64, error) {
	out := map[UserKey]float64{}
	if len(users) == 0 {
		return out, nil
	}
	args := []any{}
	query := fmt.Sprintf("SELECT tenant, user_id, %s AS score_now FROM %s FINAL WHERE %s",
		ScoreAtSQL(now, halfLife), r.table("attack_factor_latest"), usersFilter(&args, users))
	err := r.eachRow(ctx, query, args, func(rows driver.Rows) error {
		var (
			k     UserKey
			score float64
		)
		if err := rows.Scan(&k.Tenant, &k.UserID, &score); err != nil {
			return err
		}
		out[k] = score
		return nil
	})
	return out, err
}
