package respond

import (
	"strings"
	"testing"
)

// FuzzParseIdentity: any input is refused or taken apart consistently.
func FuzzParseIdentity(f *testing.F) {
	for _, s := range []string{`CORP\joren`, "joren.m@example.com", "joren", `\x`, "@", "a@b@c", `CORP\`, " jm@corp.example ", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := parseIdentity(s)
		if err != nil {
			return
		}
		if id.local == "" || id.lower != strings.ToLower(strings.TrimSpace(s)) {
			t.Fatalf("%q: %+v", s, id)
		}
		if strings.ContainsAny(id.raw, `"`) {
			t.Fatalf("%q: a quote passed", s)
		}
		// Scoring never panics and stays within [0, 1].
		own := []string{id.domain, domainOf(s)} // the identity's domain claimed by the org
		c := score(id, person{id: "u", login: s, email: s, first: s, last: s, source: "okta"}, own)
		if c.Confidence < 0 || c.Confidence > 1 {
			t.Fatalf("%q: confidence %v", s, c.Confidence)
		}
	})
}
