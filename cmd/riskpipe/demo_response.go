package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/riskpipe/riskpipe/internal/config"
	"github.com/riskpipe/riskpipe/internal/oktasim"
	"github.com/riskpipe/riskpipe/internal/oktasim/scenario"
)

// The response part of `riskpipe demo` (docs/response.md): the first org
// runs in approve mode with a restricted group; once riskpipe has scored
// its users, an analyst token proposes add_to_group for the most attacked
// user, the demo prints the command that approves it, approves it with a
// second token (four eyes), and shows it executed in the simulator and
// verified from the org's System Log.

// simDirectory is an org's Okta directory for the simulator: the
// scenario's users (its admins holding SUPER_ADMIN) and a restricted
// OKTA_GROUP. Populations past 20,000 users get none (benchmarks).
func simDirectory(org string, st *scenario.Stream, users int) ([]oktasim.User, []oktasim.Group) {
	groups := []oktasim.Group{{ID: restrictedGroup(org), Name: "Restricted (riskpipe)", Description: "fewer apps, stricter MFA"}}
	if users > 20000 {
		return nil, groups
	}
	admins := map[string]bool{}
	for _, u := range st.Truth().Admins {
		admins[u.ID] = true
	}
	var out []oktasim.User
	seen := map[string]bool{}
	for _, u := range st.Users() {
		if seen[strings.ToLower(u.Login)] || seen[u.ID] {
			continue
		}
		seen[strings.ToLower(u.Login)], seen[u.ID] = true, true
		first, last, _ := strings.Cut(u.Name, " ")
		su := oktasim.User{ID: u.ID, Profile: oktasim.Profile{Login: u.Login, Email: u.Login, FirstName: first, LastName: last, DisplayName: u.Name},
			Sessions: 1, OAuthTokens: 1}
		if admins[u.ID] {
			su.AdminRoles = []string{"SUPER_ADMIN"}
		}
		out = append(out, su)
	}
	return out, groups
}

// syncWriter serialises writes from the demo's goroutines.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func restrictedGroup(org string) string { return "00grestricted" + org }

// demoResponseConfig puts a tenant in approve mode with its restricted group.
func demoResponseConfig(org string) config.Response {
	r := config.DefaultResponse()
	r.Mode = config.ResponseApprove
	r.RestrictedGroupID = restrictedGroup(org)
	// The org's directory domain (ACME\jdoe): identities in it are matched
	// in this org, in no other.
	r.IdentityDomains = []string{strings.ToUpper(org)}
	return r
}

// demoTokens are the analyst (proposes) and approver (approves) tokens of
// the demo, both with the respond role, valid for this run only.
type demoTokens struct{ analyst, approver string }

func newDemoTokens() (demoTokens, []config.APIToken) {
	mk := func() string {
		b := make([]byte, 16)
		rand.Read(b)
		return hex.EncodeToString(b)
	}
	t := demoTokens{analyst: mk(), approver: mk()}
	roles := []config.Role{config.RoleRead, config.RoleRespond}
	return t, []config.APIToken{
		{Name: "demo-analyst", Token: config.Secret(t.analyst), Tenants: []string{config.AllTenants}, Roles: roles},
		{Name: "demo-approver", Token: config.Secret(t.approver), Tenants: []string{config.AllTenants}, Roles: roles},
	}
}

// demoResponse runs the loop once, printing each step; it gives up quietly
// when ctx ends.
func demoResponse(ctx context.Context, w io.Writer, apiBase, org string, tok demoTokens) {
	c := &http.Client{Timeout: 30 * time.Second}
	call := func(method, path, token string, body any, out any) (int, error) {
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		req, err := http.NewRequestWithContext(ctx, method, apiBase+path, rd)
		if err != nil {
			return 0, err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := c.Do(req)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode/100 != 2 {
			return resp.StatusCode, fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, strings.TrimSpace(string(b)))
		}
		return resp.StatusCode, json.Unmarshal(b, out)
	}
	wait := func(d time.Duration) bool {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(d):
			return true
		}
	}
	// The most attacked user, once riskpipe has scored some.
	var top struct {
		Users []struct {
			UserID    string  `json:"user_id"`
			UserLogin string  `json:"user_login"`
			Score     float64 `json:"score"`
			Level     string  `json:"level"`
		} `json:"users"`
	}
	for {
		if !wait(5 * time.Second) {
			return
		}
		if _, err := call("GET", "/api/v1/users?org="+org+"&limit=1", tok.analyst, nil, &top); err == nil && len(top.Users) > 0 && top.Users[0].Score > 0 {
			break
		}
	}
	u := top.Users[0]
	// An endpoint names the user DOMAIN\user: riskpipe suggests candidates.
	identity := strings.ToUpper(org) + `\` + strings.SplitN(u.UserLogin, "@", 2)[0]
	var m struct {
		Candidates []struct {
			UserLogin  string   `json:"user_login"`
			Confidence float64  `json:"confidence"`
			Reasons    []string `json:"reasons"`
		} `json:"candidates"`
		Note string `json:"note"`
	}
	if _, err := call("GET", "/api/v1/identities/match?org="+org+"&identity="+url.QueryEscape(identity), tok.analyst, nil, &m); err == nil && len(m.Candidates) > 0 {
		c := m.Candidates[0]
		fmt.Fprintf(w, "\nresponse: identity %s (%s) matches %s with confidence %.2f (%s): a guess a person confirms\n",
			identity, m.Note, c.UserLogin, c.Confidence, strings.Join(c.Reasons, "; "))
	}
	fmt.Fprintf(w, "\nresponse: the most attacked user of %s is %s (score %.1f, %s); demo-analyst proposes add_to_group\n", org, u.UserLogin, u.Score, u.Level)
	var act struct {
		ID            string     `json:"id"`
		State         string     `json:"state"`
		GroupID       string     `json:"group_id"`
		OktaRequestID string     `json:"okta_request_id"`
		VerifiedAt    *time.Time `json:"verified_at"`
		VerifyEventID string     `json:"verify_event_id"`
		Error         string     `json:"error"`
	}
	if _, err := call("POST", "/api/v1/actions", tok.analyst, map[string]string{"org": org, "action": "add_to_group",
		"user_id": u.UserID, "reason": "demo: most attacked user"}, &act); err != nil {
		fmt.Fprintf(w, "response: proposal failed: %v\n", err)
		return
	}
	fmt.Fprintf(w, "response: action %s is %s (group %s); approve it with:\n", act.ID, act.State, act.GroupID)
	fmt.Fprintf(w, "  RISKPIPE_API_TOKEN=%s riskpipe action approve --url %s --id %s\n", tok.approver, apiBase, act.ID)
	fmt.Fprintf(w, "  (or: curl -X POST -H 'Authorization: Bearer %s' %s/api/v1/actions/%s/approve)\n", tok.approver, apiBase, act.ID)
	if status, err := call("POST", "/api/v1/actions/"+act.ID+"/approve", tok.analyst, map[string]string{}, &act); status == http.StatusForbidden {
		fmt.Fprintf(w, "response: demo-analyst may not approve its own proposal (four eyes): 403\n")
	} else if err == nil {
		fmt.Fprintf(w, "response: four eyes did not stop demo-analyst\n")
	}
	if _, err := call("POST", "/api/v1/actions/"+act.ID+"/approve", tok.approver, map[string]string{}, &act); err != nil {
		fmt.Fprintf(w, "response: approval failed: %v\n", err)
		return
	}
	fmt.Fprintf(w, "response: demo-approver approved it; executing\n")
	for act.VerifiedAt == nil && act.State != "failed" {
		if !wait(time.Second) {
			return
		}
		if _, err := call("GET", "/api/v1/actions/"+act.ID, tok.analyst, nil, &act); err != nil {
			fmt.Fprintf(w, "response: %v\n", err)
			return
		}
	}
	if act.State == "failed" {
		fmt.Fprintf(w, "response: action %s failed: %s\n", act.ID, act.Error)
		return
	}
	fmt.Fprintf(w, "response: action %s %s in the simulator (X-Okta-Request-Id %s), verified from the System Log: event %s at %s\n",
		act.ID, act.State, act.OktaRequestID, act.VerifyEventID, act.VerifiedAt.Format(time.RFC3339))
	fmt.Fprintf(w, "response: see it with: RISKPIPE_API_TOKEN=%s riskpipe action list --url %s\n", tok.analyst, apiBase)
}
