package score

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/event"
)

// A forgotten user is never written again: not by Refresh, not in the
// population, while the others' factors and the org activity counts stay.
func TestForget(t *testing.T) {
	e := newEngine(t, DefaultConfig())
	e.ObservePage(seen(now.Add(-10*day), "a", "b"), events(
		ev{id: "1", user: "a", cat: event.CategoryLeakedCredentials, at: now.Add(-time.Hour)},
		ev{id: "2", user: "b", cat: event.CategoryLeakedCredentials, at: now.Add(-time.Hour)},
	), now)
	actBefore := e.activityRows(keysOf(e))
	n := e.Forget(func(id, login string) bool { return id == "a" || strings.EqualFold(login, "A@acme.example") })
	require.Equal(t, 1, n)
	require.Equal(t, actBefore, e.activityRows(keysOf(e)), "activity counts unchanged")
	out := e.Refresh(now.Add(30 * day))
	for _, u := range out.Updates {
		require.NotEqual(t, "a", u.UserID)
	}
	for _, u := range out.Users {
		require.NotEqual(t, "a", u.UserID)
	}
	require.NotEmpty(t, out.Updates, "b is still scored")
	require.Zero(t, e.Forget(func(id, login string) bool { return id == "a" }))
}

func keysOf(e *Engine) []bucketKey {
	var ks []bucketKey
	for k := range e.act {
		ks = append(ks, k)
	}
	return ks
}
