package okta

import (
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseLinks(t *testing.T) {
	base, err := url.Parse("https://acme.okta.com/api/v1/logs?since=x&limit=10")
	require.NoError(t, err)
	tests := []struct {
		name     string
		give     []string
		wantNext string
		wantSelf string
	}{
		{
			name: "okta: two headers, absolute",
			give: []string{
				`<https://acme.okta.com/api/v1/logs?limit=10&since=x>; rel="self"`,
				`<https://acme.okta.com/api/v1/logs?after=1627500044869_1&limit=10>; rel="next"`,
			},
			wantSelf: "https://acme.okta.com/api/v1/logs?limit=10&since=x",
			wantNext: "https://acme.okta.com/api/v1/logs?after=1627500044869_1&limit=10",
		},
		{
			name:     "one header, two links, relative targets",
			give:     []string{`</api/v1/logs?limit=10>; rel="self", </api/v1/logs?after=abc>; rel="next"`},
			wantSelf: "https://acme.okta.com/api/v1/logs?limit=10",
			wantNext: "https://acme.okta.com/api/v1/logs?after=abc",
		},
		{
			name:     "query-only relative target",
			give:     []string{`<?after=q1>;rel=next`},
			wantNext: "https://acme.okta.com/api/v1/logs?after=q1",
		},
		{
			name:     "rel list, upper case, extra params with commas and semicolons in quotes",
			give:     []string{`<https://acme.okta.com/x?a=1>; title="a, b; c"; rel="NEXT last", <https://acme.okta.com/s>; rel=self`},
			wantNext: "https://acme.okta.com/x?a=1",
			wantSelf: "https://acme.okta.com/s",
		},
		{
			name:     "second rel param ignored",
			give:     []string{`<https://acme.okta.com/a>; rel="prev"; rel="next", <https://acme.okta.com/b>; rel="next"`},
			wantNext: "https://acme.okta.com/b",
		},
		{
			name:     "first next wins",
			give:     []string{`<https://acme.okta.com/1>; rel="next"`, `<https://acme.okta.com/2>; rel="next"`},
			wantNext: "https://acme.okta.com/1",
		},
		{
			name:     "garbage before a valid link is skipped",
			give:     []string{`garbage; rel="next", <https://acme.okta.com/ok>; rel="next"`},
			wantNext: "https://acme.okta.com/ok",
		},
		{
			name:     "fragment dropped",
			give:     []string{`<https://acme.okta.com/a?b=c#frag>; rel="next"`},
			wantNext: "https://acme.okta.com/a?b=c",
		},
		{name: "no next", give: []string{`<https://acme.okta.com/s>; rel="self"`}, wantSelf: "https://acme.okta.com/s"},
		{name: "no header", give: nil},
		{name: "unterminated target", give: []string{`<https://acme.okta.com/a; rel="next"`}},
		{name: "link without rel", give: []string{`<https://acme.okta.com/a>; title="next"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			links := parseLinks(tt.give)
			require.Equal(t, tt.wantNext, linkTarget(links, "next", base))
			require.Equal(t, tt.wantSelf, linkTarget(links, "self", base))
		})
	}
}

func TestParseChallenges(t *testing.T) {
	tests := []struct {
		name string
		give []string
		want []challenge
	}{
		{
			name: "okta dpop nonce",
			give: []string{`DPoP error="use_dpop_nonce", error_description="Resource server requires nonce in DPoP proof"`},
			want: []challenge{{Scheme: "dpop", Params: map[string]string{
				"error": "use_dpop_nonce", "error_description": "Resource server requires nonce in DPoP proof"}}},
		},
		{
			name: "two challenges in one header, token values, escapes",
			give: []string{`Bearer realm="okta, inc", error=invalid_token, DPoP algs="ES256 RS256", error="x\"y"`},
			want: []challenge{
				{Scheme: "bearer", Params: map[string]string{"realm": "okta, inc", "error": "invalid_token"}},
				{Scheme: "dpop", Params: map[string]string{"algs": "ES256 RS256", "error": `x"y`}},
			},
		},
		{
			name: "token68 and bare scheme",
			give: []string{`Basic abc==`, `Negotiate`},
			want: []challenge{
				{Scheme: "basic", Params: map[string]string{"abc": ""}},
				{Scheme: "negotiate", Params: map[string]string{}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, parseChallenges(tt.give))
		})
	}
}

func TestNonceChallenge(t *testing.T) {
	require.True(t, nonceChallenge([]string{`DPoP error="use_dpop_nonce"`}, "n1"))
	require.False(t, nonceChallenge([]string{`DPoP error="use_dpop_nonce"`}, ""), "no nonce to use")
	require.False(t, nonceChallenge([]string{`DPoP error="invalid_dpop_proof"`}, "n1"))
	require.False(t, nonceChallenge([]string{`Bearer error="use_dpop_nonce"`}, "n1"))
}

func FuzzParseLinks(f *testing.F) {
	f.Add(`<https://acme.okta.com/api/v1/logs?after=1>; rel="next", </s>; rel=self`)
	f.Add(`<a>;rel="next last";title="x,y", garbage, <b`)
	f.Add(`<"><;;;="\`)
	base, _ := url.Parse("https://acme.okta.com/api/v1/logs")
	f.Fuzz(func(t *testing.T, s string) {
		links := parseLinks([]string{s})
		for _, l := range links {
			for _, r := range l.Rels {
				if r != strings.ToLower(r) || r == "" {
					t.Fatalf("rel %q not lower-cased or empty", r)
				}
			}
		}
		if next := linkTarget(links, "next", base); next != "" {
			u, err := url.Parse(next)
			if err != nil || !u.IsAbs() {
				t.Fatalf("next %q is not absolute: %v", next, err)
			}
		}
	})
}

func FuzzParseChallenges(f *testing.F) {
	f.Add(`DPoP error="use_dpop_nonce", error_description="x"`)
	f.Add(`Bearer realm="a, b", Basic abc==, , =,"`)
	f.Fuzz(func(t *testing.T, s string) {
		for _, c := range parseChallenges([]string{s}) {
			if c.Scheme == "" || c.Scheme != strings.ToLower(c.Scheme) {
				t.Fatalf("scheme %q", c.Scheme)
			}
		}
	})
}
