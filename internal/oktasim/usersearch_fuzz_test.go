package oktasim

import "testing"

// FuzzUserSearch: the users search and filter parsers never panic, and an
// expression they accept matches a user document without panicking.
func FuzzUserSearch(f *testing.F) {
	for _, s := range []string{`profile.login eq "a@b"`, `profile.firstName sw "jo" and status eq "ACTIVE"`,
		`(profile.email co "x") or id pr`, `profile.login ne "x"`, `profile.`, `"`, `(((`, `not id eq "1"`} {
		f.Add(s)
	}
	doc := []byte(`{"id":"00u1","status":"active","profile":{"login":"a@b","email":"a@b","firstName":"jo"}}`)
	f.Fuzz(func(t *testing.T, s string) {
		for _, check := range []func(cmpNode) error{checkUserSearch, checkUserFilter} {
			n, err := parseUserExpr(s, check, true)
			if err == nil {
				n.match(doc)
			}
		}
	})
}
