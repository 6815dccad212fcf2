package oktasim

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

const filterDoc = `{
	"uuid": "u1",
	"eventType": "user.session.start",
	"severity": "WARN",
	"outcome": {"result": "FAILURE", "reason": "INVALID_CREDENTIALS"},
	"actor": {"id": "00u1", "type": "User", "alternateId": "alice@example.com"},
	"target": [{"id": "00u2", "type": "User"}, {"id": "0oa9", "type": "AppInstance"}],
	"client": {"ipAddress": "203.0.113.9", "zone": "null"},
	"securityContext": {"asNumber": 64500, "isProxy": false},
	"debugContext": {"debugData": {"threatSuspected": "true", "risk": "{level=HIGH, reasons=Anomalous Location}"}},
	"transaction": {"detail": {}}
}`

func TestFilterMatch(t *testing.T) {
	tests := []struct {
		give string
		want bool
	}{
		{give: `eventType eq "user.session.start"`, want: true},
		{give: `eventType eq "user.session.end"`, want: false},
		{give: `eventType EQ "user.session.start"`, want: true},
		{give: `eventType ne "user.session.end"`, want: true},
		{give: `eventType sw "user.session"`, want: true},
		{give: `eventType sw "session"`, want: false},
		{give: `eventType co "session"`, want: true},
		{give: `eventType ew ".start"`, want: true},
		{give: `eventType eq "user.session.start" and outcome.result eq "FAILURE"`, want: true},
		{give: `eventType eq "user.session.start" and outcome.result eq "SUCCESS"`, want: false},
		{give: `eventType eq "x" or outcome.result eq "FAILURE"`, want: true},
		{give: `(eventType eq "x") or (eventType eq "user.session.start")`, want: true},
		{give: `eventType eq "x" or eventType eq "y" and severity eq "WARN"`, want: false},
		{give: `(eventType eq "x" or eventType eq "user.session.start") and severity eq "WARN"`, want: true},
		{give: `not (eventType eq "user.session.start")`, want: false},
		{give: `not eventType eq "x"`, want: true},
		{give: `actor.id eq "00u1"`, want: true},
		{give: `target.id eq "0oa9"`, want: true},
		{give: `target.id eq "0oa8"`, want: false},
		{give: `target.type eq "AppInstance" and target.id eq "00u2"`, want: true},
		{give: `client.ipAddress eq "203.0.113.9"`, want: true},
		{give: `debugContext.debugData.threatSuspected eq "true"`, want: true},
		{give: `debugContext.debugData.threatSuspected eq true`, want: true},
		{give: `debugContext.debugData.risk co "HIGH"`, want: true},
		{give: `securityContext.isProxy eq false`, want: true},
		{give: `securityContext.asNumber gt 64000`, want: true},
		{give: `securityContext.asNumber lt 64000`, want: false},
		{give: `securityContext.asNumber ge 64500 and securityContext.asNumber le 64500`, want: true},
		{give: `severity eq "WARN"`, want: true},
		{give: `actor.alternateId pr`, want: true},
		{give: `actor.detailEntry pr`, want: false},
		{give: `transaction.detail pr`, want: false},
		{give: `actor.detailEntry eq null`, want: true},
		{give: `actor.id ne "00u1"`, want: false},
		{give: `uuid eq "u1"`, want: true},
		{give: `eventType eq "USER.SESSION.START"`, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			f, err := parseFilter(tt.give)
			require.NoError(t, err)
			require.Equal(t, tt.want, f.match([]byte(filterDoc)))
			require.Equal(t, tt.want, oracleMatch(f, decodeDoc(t, filterDoc)), "oracle")
			// The canonical form means the same.
			g, err := parseFilter(f.String())
			require.NoError(t, err, f.String())
			require.Equal(t, tt.want, g.match([]byte(filterDoc)))
		})
	}
}

func TestFilterErrors(t *testing.T) {
	tests := []struct {
		give     string
		wantCode string
	}{
		{give: `published gt "2026-01-01T00:00:00Z"`, wantCode: "E0000031"},
		{give: `target.changeDetails.to eq "x"`, wantCode: "E0000031"},
		{give: `debugContext.debugData.requestUri co "/api"`, wantCode: "E0000031"},
		{give: `eventType eqq "x"`, wantCode: "E0000053"},
		{give: `eventType eq`, wantCode: "E0000053"},
		{give: `eventType eq x`, wantCode: "E0000053"},
		{give: `eventType eq "x`, wantCode: "E0000053"},
		{give: `(eventType eq "x"`, wantCode: "E0000053"},
		{give: `eventType eq "x")`, wantCode: "E0000053"},
		{give: `eventType eq "x" and`, wantCode: "E0000053"},
		{give: `eventType eq "x" xor eventType eq "y"`, wantCode: "E0000053"},
		{give: `Eventtype eq "x"`, wantCode: "E0000053"},
		{give: `actor..id eq "x"`, wantCode: "E0000053"},
		{give: `actor.id[type eq "User"]`, wantCode: "E0000053"},
		{give: `eventType gt null`, wantCode: "E0000053"},
		{give: `"eventType" eq "x"`, wantCode: "E0000053"},
		{give: `   `, wantCode: "E0000053"},
	}
	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			_, err := parseFilter(tt.give)
			var fe *filterError
			require.True(t, errors.As(err, &fe), "got %v", err)
			require.Equal(t, tt.wantCode, fe.Code, fe.Detail)
		})
	}
}

func TestFilterDepthLimit(t *testing.T) {
	deep := ""
	for range 200 {
		deep += "("
	}
	_, err := parseFilter(deep + `eventType eq "x"`)
	require.Error(t, err)
}

// FuzzParseFilter: the parser never panics, and what it accepts prints to a
// canonical form that parses back to the same form and the same verdict.
func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{
		`eventType eq "user.session.start" and outcome.result eq "FAILURE"`,
		`(eventType eq "a") or (eventType sw "b") or not (severity eq "WARN")`,
		`debugContext.debugData.threatSuspected eq "true"`,
		`target.id eq "x\"y\\z\u00e9"`,
		`securityContext.asNumber ge 1.5e3`,
		`actor.detailEntry pr`,
		`eventType eq null`,
		`published gt "x"`,
		`((((`,
	} {
		f.Add(s)
	}
	doc := decodeDoc(f, filterDoc)
	f.Fuzz(func(t *testing.T, s string) {
		n, err := parseFilter(s)
		if err != nil {
			var fe *filterError
			if !errors.As(err, &fe) || fe.Detail == "" || (fe.Code != "E0000053" && fe.Code != "E0000031") {
				t.Fatalf("parseFilter(%q): bad error %v", s, err)
			}
			return
		}
		canon := n.String()
		m, err := parseFilter(canon)
		if err != nil {
			t.Fatalf("canonical form %q of %q does not parse: %v", canon, s, err)
		}
		if m.String() != canon {
			t.Fatalf("canonical form is not stable: %q then %q", canon, m.String())
		}
		if got, want := n.match([]byte(filterDoc)), oracleMatch(n, doc); got != want {
			t.Fatalf("%q: raw evaluation %v, decoded %v", s, got, want)
		}
		if n.match([]byte(filterDoc)) != m.match([]byte(filterDoc)) {
			t.Fatalf("%q and %q disagree", s, canon)
		}
	})
}

func decodeDoc(t testing.TB, s string) any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var doc any
	require.NoError(t, dec.Decode(&doc))
	return doc
}

// FuzzFilterEval: on any valid JSON event, evaluating a filter on the raw
// bytes agrees with decoding the event and evaluating the decoded value.
func FuzzFilterEval(f *testing.F) {
	f.Add(filterDoc)
	f.Add(`{"target":[{"id":"0oa9"},[{"id":"00u1"}],null],"actor":{"id":"00u1","id":"x"}}`)
	f.Add(`{"eventType":"user.session.start","outcome":{"result":"\u0046AILURE"},"severity":"WARN"}`)
	f.Add(`[{"eventType":"a"},{"eventType":"user.session.start"}]`)
	f.Add(`{"securityContext":{"asNumber":-1.5e3,"isProxy":true},"transaction":{"detail":{ }}}`)
	filters := make([]filterNode, 0, 40)
	for _, s := range []string{
		`eventType eq "user.session.start"`, `eventType sw "user"`, `eventType co "session"`, `eventType ew "start"`,
		`outcome.result eq "FAILURE"`, `outcome.result ne "FAILURE"`, `actor.id eq "00u1"`, `actor.id eq "x"`,
		`target.id eq "0oa9"`, `target.id eq "00u1"`, `target.type pr`, `transaction.detail pr`, `actor.detailEntry eq null`,
		`securityContext.asNumber gt 0`, `securityContext.asNumber le -1500`, `securityContext.isProxy eq true`,
		`debugContext.debugData.threatSuspected eq "true"`, `severity ge "INFO"`, `severity lt "INFO"`, `uuid pr`,
		`not (eventType eq "user.session.start") or actor pr`, `client.ipAddress sw "203." and severity eq "WARN"`,
	} {
		n, err := parseFilter(s)
		require.NoError(f, err)
		filters = append(filters, n)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		if !json.Valid([]byte(doc)) || !utf8.ValidString(doc) {
			return
		}
		decoded := decodeDoc(t, doc)
		for _, n := range filters {
			if got, want := n.match([]byte(doc)), oracleMatch(n, decoded); got != want {
				t.Fatalf("%s on %s: raw %v, decoded %v", n, doc, got, want)
			}
		}
	})
}

// oracleMatch evaluates a filter on a decoded event (encoding/json with
// UseNumber): the straightforward reading of the semantics in filter.go.
func oracleMatch(n filterNode, doc any) bool {
	switch x := n.(type) {
	case andNode:
		return oracleMatch(x.l, doc) && oracleMatch(x.r, doc)
	case orNode:
		return oracleMatch(x.l, doc) || oracleMatch(x.r, doc)
	case notNode:
		return !oracleMatch(x.x, doc)
	}
	c := n.(cmpNode)
	vals := oracleResolve(doc, c.path, nil)
	eq := func() bool {
		if c.val.kind == 'z' {
			for _, v := range vals {
				if v != nil {
					return false
				}
			}
			return true
		}
		for _, v := range vals {
			if s, ok := oracleText(v); ok && s == c.val.text {
				return true
			}
		}
		return false
	}
	switch c.op {
	case "eq":
		return eq()
	case "ne":
		return !eq()
	case "pr":
		for _, v := range vals {
			switch x := v.(type) {
			case nil:
			case string:
				if x != "" {
					return true
				}
			case map[string]any:
				if len(x) > 0 {
					return true
				}
			default:
				return true
			}
		}
		return false
	}
	for _, v := range vals {
		s, ok := oracleText(v)
		if !ok {
			continue
		}
		_, isNum := v.(json.Number)
		if c.compare([]byte(s), isNum) {
			return true
		}
	}
	return false
}

func oracleResolve(v any, path []string, out []any) []any {
	if arr, ok := v.([]any); ok {
		for _, e := range arr {
			out = oracleResolve(e, path, out)
		}
		return out
	}
	if len(path) == 0 {
		return append(out, v)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return out
	}
	child, ok := m[path[0]]
	if !ok {
		return out
	}
	return oracleResolve(child, path[1:], out)
}

func oracleText(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case json.Number:
		return x.String(), true
	case bool:
		if x {
			return "true", true
		}
		return "false", true
	}
	return "", false
}
