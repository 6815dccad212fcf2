package oktasim

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// GET /api/v1/users with search, filter or q, as Okta documents them:
//   - search: a SCIM expression over any user property (profile.*, id,
//     status, created, lastUpdated...); eq sw gt ge lt le pr, co only on
//     profile.firstName, lastName, email and login; no ne. Attribute names
//     are case-sensitive, values are not. DEPROVISIONED users are included.
//   - filter: eq on status, id, profile.login, profile.email,
//     profile.firstName, profile.lastName (gt/ge/lt/le on lastUpdated);
//     values are case-sensitive. DEPROVISIONED users are included.
//   - q: a case-insensitive prefix of firstName, lastName or email;
//     DEPROVISIONED users omitted; default limit 10.
// limit defaults to 200 (at most 200). search, filter and the plain list
// are paged with Okta's cursor: while more users match, a Link header with
// rel="next" carries after=<cursor> (here the id of the page's last user;
// opaque to clients); q is not paged, as Okta documents.

var userSearchTop = map[string]bool{
	"id": true, "status": true, "created": true, "activated": true, "statusChanged": true,
	"lastLogin": true, "lastUpdated": true, "passwordChanged": true, "type": true, "profile": true,
}

var userCoFields = map[string]bool{
	"profile.firstName": true, "profile.lastName": true, "profile.email": true, "profile.login": true,
}

func checkUserSearch(n cmpNode) error {
	switch {
	case n.op == "ne":
		return &filterError{Code: "E0000031", Detail: "Invalid search criteria: the ne operator is not supported."}
	case n.op == "co" && !userCoFields[n.attr]:
		return &filterError{Code: "E0000031", Detail: "Invalid search criteria: co is only supported on profile.firstName, profile.lastName, profile.email and profile.login."}
	case n.op == "ew":
		return &filterError{Code: "E0000031", Detail: "Invalid search criteria: the ew operator is not supported."}
	}
	return nil
}

var userFilterFields = map[string]bool{
	"status": true, "id": true, "lastUpdated": true, "profile.login": true, "profile.email": true,
	"profile.firstName": true, "profile.lastName": true,
}

func checkUserFilter(n cmpNode) error {
	switch {
	case !userFilterFields[n.attr]:
		return &filterError{Code: "E0000031", Detail: "Invalid search criteria: the filter parameter does not support " + n.attr + "; use search."}
	case n.op != "eq" && n.attr != "lastUpdated":
		return &filterError{Code: "E0000031", Detail: "Invalid search criteria: the filter parameter only supports eq on " + n.attr + "."}
	case n.op == "pr" || n.op == "co" || n.op == "sw" || n.op == "ew" || n.op == "ne":
		return &filterError{Code: "E0000031", Detail: "Invalid search criteria: operator " + n.op + " is not supported by filter."}
	}
	return nil
}

func parseUserExpr(s string, check func(cmpNode) error, fold bool) (filterNode, error) {
	if len(s) > maxFilterLen {
		return nil, &filterError{Code: "E0000031", Detail: "Invalid search criteria: the expression is too long."}
	}
	toks, err := lexFilter(s)
	if err != nil {
		return nil, err
	}
	if fold {
		for i := range toks {
			if toks[i].kind == 's' {
				toks[i].text = strings.ToLower(toks[i].text)
			}
		}
	}
	return parseTokens(toks, userSearchTop, check)
}

func (o *Org) serveListUsers(w *recorder, r *http.Request) {
	if _, _, ok := o.admit(w, r, scopeUsersRead); !ok {
		return
	}
	q := r.URL.Query()
	search, filter, prefix := q.Get("search"), q.Get("filter"), q.Get("q")
	limit := 200
	if prefix != "" && search == "" && filter == "" {
		limit = 10
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			o.badRequest(w, validationError("limit", "limit must be a positive integer"))
			return
		}
		limit = min(n, 200)
	}
	var (
		node filterNode
		err  error
	)
	switch {
	case search != "":
		node, err = parseUserExpr(search, checkUserSearch, true)
	case filter != "":
		node, err = parseUserExpr(filter, checkUserFilter, false)
	}
	if err != nil {
		fe, _ := err.(*filterError)
		code, detail := "E0000031", err.Error()
		if fe != nil {
			detail = fe.Detail
		}
		writeOktaError(w, o.srv.newID("oae", 22), http.StatusBadRequest, code, "Invalid search criteria.", detail)
		return
	}
	// Cursor paging, as Okta's: after is the id of the last user of the
	// previous page (an opaque cursor to clients), with a Link rel="next"
	// while more users match. q (the prefix find) is not paged.
	after := q.Get("after")
	if prefix != "" && search == "" && filter == "" {
		after = ""
	}
	lp := strings.ToLower(prefix)
	out := []map[string]any{}
	more := false
	o.dir.mu.Lock()
	order := o.dir.order
	if after != "" {
		i := slices.Index(order, after)
		if i < 0 {
			order = nil // a cursor that names no user: nothing after it
		} else {
			order = order[i+1:]
		}
	}
	for _, id := range order {
		u := o.dir.users[id]
		switch {
		case node != nil:
			if !node.match(o.searchDoc(u, search != "")) {
				continue
			}
		case prefix != "":
			if u.Status == StatusDeprovisioned || !(hasPrefixFold(u.Profile.FirstName, lp) ||
				hasPrefixFold(u.Profile.LastName, lp) || hasPrefixFold(u.Profile.Email, lp)) {
				continue
			}
		default:
			if u.Status == StatusDeprovisioned { // a plain list omits them too
				continue
			}
		}
		if len(out) == limit {
			more = true
			break
		}
		out = append(out, o.userJSON(u))
	}
	o.dir.mu.Unlock()
	self := requestURL(r)
	if r.URL.RawQuery != "" {
		self += "?" + r.URL.RawQuery
	}
	w.Header().Add("Link", "<"+self+`>; rel="self"`)
	if more && (search != "" || filter != "" || prefix == "") {
		vals := url.Values{}
		for k, v := range q {
			vals[k] = v
		}
		vals.Set("after", out[len(out)-1]["id"].(string))
		vals.Set("limit", strconv.Itoa(limit))
		w.Header().Add("Link", "<"+requestURL(r)+"?"+vals.Encode()+`>; rel="next"`)
	}
	writeJSON(w, http.StatusOK, out)
}

func hasPrefixFold(s, lowerPrefix string) bool {
	return strings.HasPrefix(strings.ToLower(s), lowerPrefix)
}

// searchDoc is the user as JSON for matching; fold lower-cases values
// (search compares them case-insensitively). o.dir.mu must be held.
func (o *Org) searchDoc(u *User, fold bool) []byte {
	doc := o.userJSON(u)
	b, _ := json.Marshal(doc)
	if fold {
		var m any
		_ = json.Unmarshal(b, &m)
		b, _ = json.Marshal(lowerValues(m))
	}
	return b
}

func lowerValues(v any) any {
	switch x := v.(type) {
	case string:
		return strings.ToLower(x)
	case map[string]any:
		for k, e := range x {
			x[k] = lowerValues(e)
		}
	case []any:
		for i, e := range x {
			x[i] = lowerValues(e)
		}
	}
	return v
}
