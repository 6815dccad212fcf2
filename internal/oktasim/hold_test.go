package oktasim

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// waitHeld polls the holds until one is held (a condition, with a
// generous guard against a hang).
func waitHeld(t *testing.T, o *Org) HoldStatus {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		for _, h := range o.Holds() {
			if h.Held {
				return h
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("no request held within a minute")
	return HoldStatus{}
}

// TestHolds: a request held before it is applied changes nothing when its
// client goes away; one held after it is applied keeps its change and
// loses its answer; a released one answers normally. The control API
// arms, lists and releases holds.
func TestHolds(t *testing.T) {
	o, c, base := directoryOrg(t, newClock())
	suspend := base + "/api/v1/users/00ujoren/lifecycle/suspend"
	call := func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, suspend, nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", ssws)
		resp, err := c.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
	abandon := func(stage HoldStage) {
		require.NoError(t, o.SetHold(Hold{Request: HoldWrites, Stage: stage}))
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- call(ctx) }()
		h := waitHeld(t, o)
		require.Equal(t, "/o/acme/api/v1/users/00ujoren/lifecycle/suspend", h.Path)
		cancel() // the client dies
		require.ErrorIs(t, <-done, context.Canceled)
		deadline := time.Now().Add(time.Minute)
		for !o.Holds()[0].Abandoned {
			require.True(t, time.Now().Before(deadline), "the held request was never abandoned")
			time.Sleep(5 * time.Millisecond)
		}
		o.ReleaseHolds()
	}

	abandon(HoldBeforeApply)
	u, _ := o.User("00ujoren")
	require.Equal(t, StatusActive, u.Status, "not applied")
	require.Empty(t, o.UserWriteCalls("00ujoren"))

	abandon(HoldAfterApply)
	u, _ = o.User("00ujoren")
	require.Equal(t, StatusSuspended, u.Status, "applied, answer lost")
	require.Equal(t, map[string]int64{"POST /api/v1/users/{id}/lifecycle/suspend": 1}, o.UserWriteCalls("00ujoren"))

	// Released (through the control API): the answer arrives. Skip 1
	// spares the first matching request; reads are not writes.
	r := do(t, c, "POST", strings.TrimSuffix(base, "/o/acme")+"/_sim/orgs/acme/holds", strings.NewReader(`{"request":"POST /api/v1/users/{id}/lifecycle/unsuspend","stage":"after_apply","skip":1}`))
	require.Equal(t, http.StatusNoContent, r.StatusCode, string(r.body))
	require.Equal(t, 200, do(t, c, "POST", base+"/api/v1/users/00ujoren/lifecycle/unsuspend", nil, "Authorization", ssws).StatusCode)
	require.Equal(t, 200, do(t, c, "POST", suspend, nil, "Authorization", ssws).StatusCode)
	require.Equal(t, 200, get(t, c, base+"/api/v1/users/00ujoren", "Authorization", ssws).StatusCode)
	done := make(chan int, 1)
	go func() {
		done <- do(t, c, "POST", base+"/api/v1/users/00ujoren/lifecycle/unsuspend", nil, "Authorization", ssws).StatusCode
	}()
	waitHeld(t, o)
	r = get(t, c, strings.TrimSuffix(base, "/o/acme")+"/_sim/orgs/acme/holds")
	var list []HoldStatus
	require.NoError(t, json.Unmarshal(r.body, &list))
	require.Len(t, list, 1)
	require.True(t, list[0].Held)
	require.Equal(t, http.StatusNoContent, do(t, c, "DELETE", strings.TrimSuffix(base, "/o/acme")+"/_sim/orgs/acme/holds", nil).StatusCode)
	require.Equal(t, 200, <-done)
	u, _ = o.User("00ujoren")
	require.Equal(t, StatusActive, u.Status)
	require.Empty(t, o.Holds())

	for _, bad := range []Hold{{Request: "write", Stage: "whenever"}, {Request: "suspend", Stage: HoldAfterApply}, {Request: "write", Stage: HoldAfterApply, Skip: -1}} {
		require.Error(t, o.SetHold(bad), "%+v", bad)
	}
}
