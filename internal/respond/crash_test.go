package respond

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/config"
)

// killOnWrite forwards the first write request to Okta, then kills the
// process (cancels its context) before the answer arrives: Okta made the
// change, riskpipe never learned of it.
type killOnWrite struct {
	next   http.RoundTripper
	kill   context.CancelFunc
	killed bool
}

func (k *killOnWrite) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := k.next.RoundTrip(r)
	if r.Method != http.MethodGet && !strings.Contains(r.URL.Path, "/oauth2/") && !k.killed {
		k.killed = true
		k.kill()
		if resp != nil {
			resp.Body.Close()
		}
		return nil, context.Canceled
	}
	return resp, err
}

// TestExactlyOnceAcrossKill kills riskpipe at every step of an approved
// action (after approval, before the call, during it, after it but before
// recording the answer) and restarts it on the same ClickHouse and Okta:
// Okta receives exactly one write call, and the action ends succeeded.
func TestExactlyOnceAcrossKill(t *testing.T) {
	calls := map[config.ResponseAction]string{
		config.ActionSuspend:       callSuspend,
		config.ActionAddToGroup:    callAdd,
		config.ActionClearSessions: callClear,
	}
	for _, act := range []config.ResponseAction{config.ActionSuspend, config.ActionAddToGroup, config.ActionClearSessions} {
		for _, point := range []string{"after_approval", "before_call", "during_call", "after_call"} {
			t.Run(fmt.Sprintf("%s/%s", act, point), func(t *testing.T) {
				h := newHarness(t, nil)
				ctx, kill := context.WithCancel(context.Background())
				defer kill()
				if point == "during_call" {
					h.transport = func(next http.RoundTripper) http.RoundTripper { return &killOnWrite{next: next, kill: kill} }
				}
				s1 := h.service(ctx)
				s1.crash = func(p string) bool {
					if p == point {
						kill()
						return true
					}
					return false
				}
				a := propose(t, s1, act, joren, "alice")
				_, err := s1.Approve(ctx, a.ID, "bob", "")
				require.NoError(t, err)
				if point == "after_approval" {
					kill() // before any sweep ran it
				} else {
					s1.Sweep(ctx)
				}
				require.Error(t, ctx.Err(), "the process was killed at %s", point)
				states := h.auditStates(a.ID)
				switch point {
				case "after_approval":
					require.Equal(t, []string{"proposed", "approved"}, states)
				default:
					require.Equal(t, []string{"proposed", "approved", "executing"}, states)
				}

				// Restart.
				h.transport = nil
				s2 := h.service(context.Background())
				s2.Sweep(context.Background())
				got := get(t, s2, a.ID)
				require.Equal(t, StateSucceeded, got.State, got.Error)
				require.Equal(t, int64(1), h.writes(calls[act]), "exactly one Okta call")
				if point == "during_call" || point == "after_call" {
					require.Contains(t, got.Note, "reconciled")
					require.Contains(t, got.Note, "not called again")
				}
				s2.Sweep(context.Background())
				require.Equal(t, int64(1), h.writes(calls[act]))
			})
		}
	}
}
