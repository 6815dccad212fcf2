package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/chserver"
	"github.com/riskpipe/riskpipe/internal/chtest"
	"github.com/riskpipe/riskpipe/internal/oktasim"
	"github.com/riskpipe/riskpipe/internal/oktasim/scenario"
	"github.com/riskpipe/riskpipe/internal/simtest"
)

// testRespondKill9 proves "exactly one Okta call per approved action
// across kill -9" on the real binary: riskpipe run proposes and approves
// an action through its API; the simulator holds a request at a known
// point and, once it reports the request held, riskpipe is killed with
// SIGKILL; a restart must end the action succeeded with exactly one write
// applied in Okta, and response_actions must tell what happened.
//
// The points: after_approval (the executor's guard-rail read of the
// user's admin roles is held: approved is recorded, executing is not, no
// write sent), during_call (executing recorded, the write held before Okta
// applies it, so the kill loses it: from Okta's side the same as a kill
// just before the call) and after_call (Okta applied the write, its answer
// is held: riskpipe never records it).
func testRespondKill9(t *testing.T, bin string, srv *chserver.Server) {
	fl := newFleet(t, simSettings{orgs: 1, scenario: scenario.ScenarioQuiet, seed: 21, eps: 5, users: 50})
	org := fl.orgs[0]
	sim := fl.org(org)
	db := chtest.NewDatabase(t, srv)
	st := simtest.OpenStore(t, chtest.Config(srv, db))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	listen := ln.Addr().String()
	require.NoError(t, ln.Close())

	tenants := fl.tenants()[:1] // org 0 authenticates with an API token
	tenants[0].extra = fmt.Sprintf("    response:\n      mode: approve\n      restricted_group_id: %s\n      four_eyes: true\n", restrictedGroup(org))
	yaml := cfgSpec{addr: srv.Addr(), db: db, tenants: tenants}.yaml()
	yaml = strings.Replace(yaml, "listen: \"\"", fmt.Sprintf("listen: %q", listen), 1) + `api:
  tokens:
    - {name: ann, token: ann-token-0123456789, tenants: ["*"], roles: [read, respond]}
    - {name: bo, token: bo-token-0123456789, tenants: ["*"], roles: [read, respond]}
`
	cfg := writeFile(t, "riskpipe.yaml", yaml)
	dir := t.TempDir()
	base := "http://" + listen
	client := &http.Client{Timeout: 2 * time.Minute} // a guard against a hang, not a speed assertion
	t.Cleanup(client.CloseIdleConnections)

	call := func(token, method, path string, body any) (int, map[string]any, error) {
		b, _ := json.Marshal(body)
		req, err := http.NewRequest(method, base+path, bytes.NewReader(b))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return 0, nil, err
		}
		defer resp.Body.Close()
		raw, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		var out map[string]any
		_ = json.Unmarshal(raw, &out)
		return resp.StatusCode, out, nil
	}
	type step struct {
		State, Note, RequestID string
		Attempts               uint32
	}
	audit := func(id string) []step {
		rows, err := st.Conn().Query(t.Context(), "SELECT state, note, okta_request_id, attempts FROM `"+db+
			"`.response_actions WHERE action_id = ? ORDER BY version", id)
		require.NoError(t, err)
		defer rows.Close()
		var out []step
		for rows.Next() {
			var s step
			require.NoError(t, rows.Scan(&s.State, &s.Note, &s.RequestID, &s.Attempts))
			out = append(out, s)
		}
		require.NoError(t, rows.Err())
		return out
	}
	states := func(steps []step) []string {
		out := make([]string, len(steps))
		for i, s := range steps {
			out[i] = s.State
		}
		return out
	}

	templates := map[string]string{
		"suspend":        "POST /api/v1/users/{id}/lifecycle/suspend",
		"add_to_group":   "PUT /api/v1/groups/{gid}/users/{uid}",
		"clear_sessions": "DELETE /api/v1/users/{id}/sessions",
	}
	effect := func(action, uid string) bool {
		u, _ := sim.User(uid)
		switch action {
		case "suspend":
			return u.Status == oktasim.StatusSuspended
		case "add_to_group":
			return strings.Contains(strings.Join(sim.Members(restrictedGroup(org)), ","), uid)
		}
		return u.Sessions == 0
	}
	n := 0
	for _, action := range []string{"suspend", "add_to_group", "clear_sessions"} {
		for _, point := range []string{"after_approval", "during_call", "after_call"} {
			t.Run(action+"/"+point, func(t *testing.T) {
				n++
				uid := fmt.Sprintf("00ukill%02d", n)
				require.NoError(t, sim.AddUser(oktasim.User{ID: uid, Sessions: 2, OAuthTokens: 1,
					Profile: oktasim.Profile{Login: uid + "@test.example", Email: uid + "@test.example", FirstName: "Kill", LastName: uid}}))

				p1 := startProc(t, bin, filepath.Join(dir, fmt.Sprintf("%s-%s-1.log", action, point)), "run", "--config", cfg)
				var id string
				simtest.WaitFor(t, 2*time.Minute, "riskpipe accepts a proposal", func() (bool, string) {
					p1.Alive("starting")
					code, body, err := call("ann-token-0123456789", "POST", "/api/v1/actions",
						map[string]string{"org": org, "action": action, "user_id": uid, "reason": "kill -9 test"})
					if err != nil || code == http.StatusServiceUnavailable {
						return false, fmt.Sprintf("%d %v %v", code, body, err)
					}
					require.Equal(t, http.StatusCreated, code, "%v", body)
					id, _ = body["id"].(string)
					return true, ""
				})
				require.NotEmpty(t, id)

				// Arm the hold, approve, wait for the held request, kill.
				switch point {
				case "after_approval":
					// The first roles read is the approval's own check.
					require.NoError(t, sim.SetHold(oktasim.Hold{Request: "GET /api/v1/users/{id}/roles", Stage: oktasim.HoldBeforeApply, Skip: 1}))
				case "during_call":
					require.NoError(t, sim.SetHold(oktasim.Hold{Request: oktasim.HoldWrites, Stage: oktasim.HoldBeforeApply}))
				case "after_call":
					require.NoError(t, sim.SetHold(oktasim.Hold{Request: oktasim.HoldWrites, Stage: oktasim.HoldAfterApply}))
				}
				code, body, err := call("bo-token-0123456789", "POST", "/api/v1/actions/"+id+"/approve", map[string]string{})
				require.NoError(t, err)
				require.Equal(t, http.StatusOK, code, "%v", body)
				var held oktasim.HoldStatus
				simtest.WaitFor(t, 2*time.Minute, "the simulator holds riskpipe's request", func() (bool, string) {
					p1.Alive("the action runs")
					for _, h := range sim.Holds() {
						if h.Held {
							held = h
							return true, ""
						}
					}
					return false, fmt.Sprintf("%+v", sim.Holds())
				})
				require.Contains(t, held.Path, uid)
				p1.Signal(syscall.SIGKILL)
				_, sig := p1.Wait(time.Minute)
				require.Equal(t, syscall.SIGKILL, sig)
				simtest.WaitFor(t, time.Minute, "the held request abandoned", func() (bool, string) {
					hs := sim.Holds()
					return len(hs) == 1 && hs[0].Abandoned, fmt.Sprintf("%+v", hs)
				})
				sim.ReleaseHolds()

				// What the kill left: the audit up to the point, and Okta's state.
				before := audit(id)
				writes := sim.UserWriteCalls(uid)[templates[action]]
				switch point {
				case "after_approval":
					require.Equal(t, []string{"proposed", "approved"}, states(before))
					require.Zero(t, writes)
					require.False(t, effect(action, uid))
				case "during_call":
					require.Equal(t, []string{"proposed", "approved", "executing"}, states(before))
					require.Zero(t, writes, "held before Okta applied it")
					require.False(t, effect(action, uid))
				case "after_call":
					require.Equal(t, []string{"proposed", "approved", "executing"}, states(before))
					require.EqualValues(t, 1, writes, "Okta applied it; riskpipe never heard")
					require.True(t, effect(action, uid))
				}

				// Restart: the action ends succeeded, Okta changed once.
				p2 := startProc(t, bin, filepath.Join(dir, fmt.Sprintf("%s-%s-2.log", action, point)), "run", "--config", cfg)
				var after []step
				simtest.WaitFor(t, 2*time.Minute, "the action succeeded after the restart", func() (bool, string) {
					p2.Alive("reconciling")
					after = audit(id)
					last := after[len(after)-1]
					return last.State == "succeeded", fmt.Sprintf("%v", states(after))
				})
				p2.Terminate()
				require.True(t, effect(action, uid))
				require.Equal(t, map[string]int64{templates[action]: 1}, sim.UserWriteCalls(uid), "exactly one write in Okta for the action")
				last := after[len(after)-1]
				switch point {
				case "after_approval":
					require.Equal(t, []string{"proposed", "approved", "executing", "succeeded"}, states(after)[:4])
					require.EqualValues(t, 1, last.Attempts)
					require.NotEmpty(t, last.RequestID, "the X-Okta-Request-Id of the one call")
				case "during_call":
					// Reconciled: not applied in Okta, so called again.
					require.Equal(t, []string{"proposed", "approved", "executing", "executing", "succeeded"}, states(after)[:5])
					require.EqualValues(t, 2, last.Attempts)
					require.NotEmpty(t, last.RequestID)
				case "after_call":
					// Reconciled: applied in Okta, not called again.
					require.Equal(t, []string{"proposed", "approved", "executing", "succeeded"}, states(after)[:4])
					require.EqualValues(t, 1, last.Attempts)
					require.Contains(t, last.Note, "reconciled")
					require.Contains(t, last.Note, "Okta was not called again")
				}
				t.Logf("%s %s: audit %v; okta writes %v", action, point, states(after), sim.UserWriteCalls(uid))
			})
		}
	}
}
