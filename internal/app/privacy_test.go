package app

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/chtest"
	"github.com/riskpipe/riskpipe/internal/classify"
	"github.com/riskpipe/riskpipe/internal/event"
	"github.com/riskpipe/riskpipe/internal/privacy"
	"github.com/riskpipe/riskpipe/internal/store"
)

func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	require.NoError(t, c.Write(&m))
	return m.Counter.GetValue()
}

// With suppress_deleted, events and sightings of a deleted person (by id or
// login, any case) are dropped and counted; others pass. Without it (nil
// suppressor) nothing is dropped.
func TestSuppressor(t *testing.T) {
	h := privacy.NewHasher("suppress-test-key-0123")
	mk := func() classify.Result {
		return classify.Result{
			Kept: []event.Event{
				{ID: "1", UserID: "00ugone", UserLogin: "gone@example.com"},
				{ID: "2", UserID: "00uadmin", TargetUserLogin: "Gone@Example.com"},
				{ID: "3", UserID: "00ukeep", UserLogin: "keep@example.com"},
			},
			Updated: []event.Event{{ID: "4", ActorID: "00ugone"}},
			Seen:    []event.Sighting{{ID: "00ugone", Login: "gone@example.com"}, {ID: "00ukeep", Login: "keep@example.com"}},
		}
	}
	var off *suppressor
	res := mk()
	off.filter("acme", &res)
	require.Len(t, res.Kept, 3)

	s := newSuppressor(h, prometheus.NewRegistry())
	res = mk()
	s.filter("acme", &res)
	require.Len(t, res.Kept, 3, "no hashes yet")
	s.add([]string{h.Email("gone@example.com"), h.ID("00ugone")})
	res = mk()
	s.filter("acme", &res)
	require.Equal(t, []event.Event{{ID: "3", UserID: "00ukeep", UserLogin: "keep@example.com"}}, res.Kept)
	require.Empty(t, res.Updated)
	require.Equal(t, []event.Sighting{{ID: "00ukeep", Login: "keep@example.com"}}, res.Seen)
	require.Equal(t, float64(3), counterValue(t, s.dropped.WithLabelValues("acme")))

	// A deletion of this process suppresses through Forget at once: by
	// the subject's ids and logins, or by hashes.
	for _, m := range []privacy.Matcher{
		privacy.Subject{IDs: []string{"00ugone"}, Logins: []string{"gone@example.com"}},
		privacy.HashedSubject{H: h, Hashes: map[string]struct{}{h.Email("gone@example.com"): {}, h.ID("00ugone"): {}}},
	} {
		s := newSuppressor(h, prometheus.NewRegistry())
		off.forget(m) // no suppression: nothing to do
		s.forget(m)
		res = mk()
		s.filter("acme", &res)
		require.Equal(t, []event.Event{{ID: "3", UserID: "00ukeep", UserLogin: "keep@example.com"}}, res.Kept, "%T", m)
	}
}

// A deletion made by another process (the CLI) reaches a running riskpipe
// through privacy_requests: the watcher forgets the person by their hashes
// and, with suppression, drops their future events.
func TestPrivacyWatcher(t *testing.T) {
	srv := chtest.Start(t)
	db := chtest.NewDatabase(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	st, err := store.Open(ctx, chtest.Config(srv, db), nil)
	require.NoError(t, err)
	defer st.Close()
	require.NoError(t, st.Migrate(ctx))
	b, err := st.Conn().PrepareBatch(ctx, "INSERT INTO `"+db+"`.org_users (tenant, user_id, user_login, first_seen, last_seen, version)")
	require.NoError(t, err)
	require.NoError(t, b.Append("acme", "00ugone0000000000001", "Gone@example.com", time.Now(), time.Now(), uint64(1)))
	require.NoError(t, b.Send())

	const key = "watcher-test-key-0123"
	svc, err := privacy.New(privacy.Options{Conn: st.Conn(), Database: db, HashKey: key, PollInterval: 50 * time.Millisecond})
	require.NoError(t, err)
	res, err := svc.Delete(ctx, "gone@example.com", "cli")
	require.NoError(t, err)
	require.True(t, res.Done())

	h := privacy.NewHasher(key)
	var got []privacy.Matcher
	sup := newSuppressor(h, prometheus.NewRegistry())
	forget := func(m privacy.Matcher) { got = append(got, m); sup.forget(m) } // as App.Forget
	w := &privacyWatcher{conn: st.Conn(), db: db, h: h, forget: forget, interval: time.Hour, seen: map[string]int{}}
	require.NoError(t, w.load(ctx))
	require.Len(t, got, 1)
	require.True(t, got[0].Matches("00ugone0000000000001", ""))
	require.True(t, got[0].Matches("", "GONE@example.com"))
	require.False(t, got[0].Matches("00uother", "other@example.com"))
	require.True(t, sup.event(&event.Event{ActorID: "00ugone0000000000001"}))
	require.NoError(t, w.load(ctx))
	require.Len(t, got, 1, "a request is handled once")
}
