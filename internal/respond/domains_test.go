package respond

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/config"
	"github.com/riskpipe/riskpipe/internal/oktasim"
)

// identity_domains: an identity whose domain the org claims is matched
// there (a candidate in a claimed domain ranks higher, still a guess); one
// whose domain another org claims gets no candidates, and a proposal
// naming it is refused; an unclaimed domain is matched as before.
func TestIdentityDomains(t *testing.T) {
	h := newHarness(t, func(r *config.Response) { r.IdentityDomains = []string{"CORP", "example.com"} })
	globex := config.DefaultResponse()
	globex.IdentityDomains = []string{"GLOBEX", "globex.example"}
	h.others = []config.Tenant{{Name: "globex", BaseURL: h.base, Response: globex}}
	ctx := context.Background()
	s := h.service(ctx)

	for _, tc := range []struct {
		identity  string
		elsewhere bool
		note      string // substring; "" none
		first     string // user id of the best candidate; "" none
		conf      float64
		reason    string
	}{
		{identity: `CORP\jsmith`, note: "domain corp is this org's", first: jsmith, conf: 0.85, reason: "in example.com, a domain this org claims"},
		{identity: `corp\joren.m`, note: "domain corp is this org's", first: joren, conf: 0.85, reason: `DOMAIN\user equals the login's local part`},
		{identity: `GLOBEX\joren.m`, elsewhere: true, note: "domain globex is claimed by another org (tenants[].response.identity_domains): no candidates in acme"},
		{identity: "joren.m@globex.example", elsewhere: true, note: "claimed by another org"},
		{identity: `OTHER\joren.m`, first: joren, conf: 0.8, reason: `DOMAIN\user equals the login's local part`},
		{identity: "jm@corp.example", first: joren, conf: 0.9, reason: "exact secondEmail"},
		{identity: "joren.m@example.com", note: "this org's", first: joren, conf: 1, reason: "exact login"},
	} {
		t.Run(tc.identity, func(t *testing.T) {
			m, err := s.Match(ctx, "acme", tc.identity)
			require.NoError(t, err)
			require.Equal(t, tc.elsewhere, m.Elsewhere)
			if tc.note == "" {
				require.Empty(t, m.Note)
			} else {
				require.Contains(t, m.Note, tc.note)
			}
			if tc.first == "" {
				require.Empty(t, m.Candidates)
				return
			}
			require.NotEmpty(t, m.Candidates)
			c := m.Candidates[0]
			require.Equal(t, tc.first, c.UserID, "%+v", m.Candidates)
			require.InDelta(t, tc.conf, c.Confidence, 0.001)
			require.Contains(t, c.Reasons, tc.reason)
		})
	}
	// CORP\jsmith: jane's email jsmith@example.org matches the user part
	// (0.75) and her login is in example.com (+0.05): still below john,
	// whose login itself matches.
	m, err := s.Match(ctx, "acme", `CORP\jsmith`)
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(m.Candidates), 2)
	require.Equal(t, jane, m.Candidates[1].UserID)
	require.InDelta(t, 0.8, m.Candidates[1].Confidence, 0.001)
	for _, c := range m.Candidates {
		require.False(t, c.Exact, "a claimed domain never makes a guess exact")
	}

	// Proposals: another org's identity is refused; this org's waits for
	// a person (never act on a guess).
	_, _, err = s.Propose(ctx, Proposal{Tenant: "acme", Action: config.ActionSuspend, Identity: `GLOBEX\joren.m`, By: "edr"})
	var ie *InputError
	require.ErrorAs(t, err, &ie)
	require.Contains(t, ie.Msg, "claimed by another org")
	a, _, err := s.Propose(ctx, Proposal{Tenant: "acme", Action: config.ActionSuspend, Identity: `CORP\joren.m`, By: "edr"})
	require.NoError(t, err)
	require.Equal(t, StateNeedsIdentity, a.State)
	require.Contains(t, a.Note, "domain corp is this org's")
	require.Equal(t, joren, a.Candidates[0].UserID)
}

// Okta's users search is read over its cursor pages: the user the
// identity names is found though more users match than one page holds
// (Okta lists matches in its own order, not best first).
func TestIdentitySearchPages(t *testing.T) {
	h := newHarness(t, nil)
	for i := range 5 {
		login := fmt.Sprintf("kim%d@example.com", i)
		require.NoError(t, h.org.AddUser(oktasim.User{ID: fmt.Sprintf("00ukim%d", i), Profile: oktasim.Profile{Login: login, Email: login, FirstName: "P", LastName: fmt.Sprint(i)}}))
	}
	require.NoError(t, h.org.AddUser(oktasim.User{ID: "00ukim", Profile: oktasim.Profile{Login: "kim@example.com", Email: "kim@example.com", FirstName: "Q", LastName: "Lee"}}))
	ctx := context.Background()
	s := h.service(ctx)
	s.searchPage = 2 // six users match profile.login sw "kim": three pages
	before := h.org.Stats().Requests[200]
	m, err := s.Match(ctx, "acme", `CORP\kim`)
	require.NoError(t, err)
	require.NotEmpty(t, m.Candidates)
	require.Equal(t, "00ukim", m.Candidates[0].UserID, "%+v", m.Candidates)
	require.Contains(t, m.Candidates[0].Reasons, `DOMAIN\user equals the login's local part`)
	// Three expressions (login/email sw "kim": 3 pages of 2; names sw
	// "kim": one empty page; login eq: one empty page).
	require.Equal(t, int64(5), h.org.Stats().Requests[200]-before, "the search was read over its pages")
}
