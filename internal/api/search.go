package api

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/riskpipe/riskpipe/internal/store"
)

// UserMatch is one user found by GET /api/v1/users/search.
type UserMatch struct {
	Tenant    string `json:"tenant"`
	UserID    string `json:"user_id"`
	UserLogin string `json:"user_login"`
	// Name is the user's display name as Okta sent it in a kept event
	// where the user is the actor, when the search read it ("" when not:
	// found by id or login without reading names).
	Name string `json:"name"`
	// Field is what matched: id, login or name (the best match).
	Field string `json:"field"`
	// Match is how it matched: exact, prefix or substring (case-insensitive).
	Match string `json:"match"`
	// Score, Level and Percentile are the user's current attack factor as
	// of the request, as GET /api/v1/users shows it (readtime.go); null
	// for a user without one.
	Score      *float64 `json:"score"`
	Percentile *float64 `json:"percentile"`
	Level      string   `json:"level"`
}

// UserSearch is the answer of GET /api/v1/users/search.
type UserSearch struct {
	Query string      `json:"query"`
	Orgs  []string    `json:"orgs"`
	Users []UserMatch `json:"users"`
	// More is true when more users matched than limit.
	More bool `json:"more"`
}

// actorNameRE extracts the actor's displayName from a raw System Log
// event (the actor object holds no nested object before it).
const actorNameRE = `"actor":\{[^{}]*"displayName":"([^"\\]*)"`

// searchCandidates bounds the rows of each kind read before ranking.
const searchCandidates = 500

// Display names are searched in the kept events of the last nameWindow,
// for queries of at least minNameQuery characters.
const (
	nameWindow   = 30 * 24 * time.Hour
	minNameQuery = 3
)

func (a *API) searchUsers(r *http.Request) (any, error) {
	orgs, err := queryOrgs(r)
	if err != nil {
		return nil, err
	}
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	if q == "" || utf8.RuneCountInString(q) > 200 || !utf8.ValidString(q) {
		return nil, badRequest("q: want 1 to 200 characters of a login, name or user id")
	}
	limit, err := intParam(r, "limit", 20, 1, 100)
	if err != nil {
		return nil, err
	}
	out := UserSearch{Query: q, Orgs: orgs, Users: []UserMatch{}}
	if len(orgs) == 0 {
		return out, nil
	}
	ctx := r.Context()
	found, err := a.findUsers(ctx, orgs, q, limit)
	if err != nil {
		return nil, err
	}
	for i := range found {
		found[i].Field, found[i].Match = bestMatch(q, found[i])
	}
	found = slices.DeleteFunc(found, func(m UserMatch) bool { return m.Match == "" })
	slices.SortFunc(found, func(x, y UserMatch) int {
		return cmp.Or(cmp.Compare(matchRank[x.Match], matchRank[y.Match]), cmp.Compare(fieldRank[x.Field], fieldRank[y.Field]),
			cmp.Compare(strings.ToLower(x.UserLogin), strings.ToLower(y.UserLogin)), cmp.Compare(x.Tenant, y.Tenant), cmp.Compare(x.UserID, y.UserID))
	})
	if len(found) > limit {
		found, out.More = found[:limit], true
	}
	if err := a.addFactors(ctx, found); err != nil {
		return nil, err
	}
	if found != nil {
		out.Users = found
	}
	return out, nil
}

var (
	matchRank = map[string]int{"exact": 0, "prefix": 1, "substring": 2}
	fieldRank = map[string]int{"id": 0, "login": 1, "name": 2}
)

// bestMatch says which field of m matches q best and how.
func bestMatch(q string, m UserMatch) (field, match string) {
	lq := strings.ToLower(q)
	best := 99
	for _, f := range []struct{ name, v string }{{"id", m.UserID}, {"login", m.UserLogin}, {"name", m.Name}} {
		v := strings.ToLower(f.v)
		kind := ""
		switch {
		case v == "":
		case v == lq:
			kind = "exact"
		case strings.HasPrefix(v, lq):
			kind = "prefix"
		case strings.Contains(v, lq):
			kind = "substring"
		}
		if kind != "" && matchRank[kind]*3+fieldRank[f.name] < best {
			best, field, match = matchRank[kind]*3+fieldRank[f.name], f.name, kind
		}
	}
	return field, match
}

// findUsers reads the users of orgs whose id, login or display name
// contains q (case-insensitive), at most searchCandidates of each kind,
// those that match at the start first. Ids and logins come from the orgs'
// population (org_users) and their scored users (attack_factor_latest),
// both small; display names are no column, so they come from the actor
// displayName of the kept events of the last nameWindow, whose raw JSON
// that reads: only for queries of minNameQuery characters or more, and
// not when limit ids or logins match exactly or at the start.
func (a *API) findUsers(ctx context.Context, orgs []string, q string, limit int) ([]UserMatch, error) {
	byKey := map[store.UserKey]*UserMatch{}
	var out []*UserMatch
	collect := func(hits []store.UserHit) {
		for _, h := range hits {
			k := store.UserKey{Tenant: h.Tenant, UserID: h.UserID}
			if old := byKey[k]; old != nil {
				old.Name = cmp.Or(old.Name, h.Name)
				old.UserLogin = cmp.Or(old.UserLogin, h.UserLogin)
				continue
			}
			m := &UserMatch{Tenant: h.Tenant, UserID: h.UserID, UserLogin: h.UserLogin, Name: h.Name}
			byKey[k] = m
			out = append(out, m)
		}
	}
	hits, err := a.r.SearchIDsLogins(ctx, orgs, q, searchCandidates)
	if err != nil {
		return nil, fmt.Errorf("search users: %w", err)
	}
	collect(hits)
	// Ids and logins matching exactly or at the start fill the answer ahead
	// of any name matching at the start or inside (only an exact name
	// could rank above them): then the names are not read.
	ahead := 0
	for _, m := range out {
		if _, kind := bestMatch(q, *m); kind == "exact" || kind == "prefix" {
			ahead++
		}
	}
	if utf8.RuneCountInString(q) >= minNameQuery && ahead < limit {
		hits, err := a.r.SearchNames(ctx, orgs, q, actorNameRE, a.s.Now().Add(-nameWindow), searchCandidates)
		if err != nil {
			return nil, fmt.Errorf("search names: %w", err)
		}
		collect(hits)
	}
	found := make([]UserMatch, len(out))
	for i, m := range out {
		found[i] = *m
	}
	return found, nil
}

// addFactors fills the current attack factor of the users found, as of
// now as GET /api/v1/users shows it (readtime.go): the score decayed to
// now, percentile and level from it in the org's ranking now.
func (a *API) addFactors(ctx context.Context, found []UserMatch) error {
	if len(found) == 0 {
		return nil
	}
	keys := make([]store.UserKey, len(found))
	var orgs []string
	for i, m := range found {
		keys[i] = store.UserKey{Tenant: m.Tenant, UserID: m.UserID}
		if !slices.Contains(orgs, m.Tenant) {
			orgs = append(orgs, m.Tenant)
		}
	}
	now := a.s.Now()
	scores, err := a.r.ScoresNow(ctx, keys, now, a.s.Score.HalfLife)
	if err != nil {
		return fmt.Errorf("query factors: %w", err)
	}
	var scored []*UserMatch
	for i := range found {
		if score, ok := scores[keys[i]]; ok {
			found[i].Score = &score
			scored = append(scored, &found[i])
		}
	}
	if len(scored) == 0 {
		return nil
	}
	ranks, err := a.rankings(ctx, orgs, now)
	if err != nil {
		return err
	}
	for _, m := range scored {
		pct, level := a.s.Score.Rank(ranks[m.Tenant], *m.Score)
		m.Percentile, m.Level = &pct, level
	}
	return nil
}
