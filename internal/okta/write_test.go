package okta

// The Writer against the simulator's users and groups API over real
// sockets, on the shared fake clock.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/config"
	"github.com/riskpipe/riskpipe/internal/oktasim"
)

func directoryOptions() oktasim.OrgOptions {
	return oktasim.OrgOptions{
		Tokens: []string{simToken},
		Clients: []oktasim.Client{{ID: simClientID, Secret: simSecret,
			Scopes: []string{"okta.users.read", "okta.logs.read"}}},
		Users: []oktasim.User{
			{ID: "00ujoren", Profile: oktasim.Profile{Login: "joren.m@example.com", Email: "joren.m@example.com", FirstName: "Joren", LastName: "Maes"}, Sessions: 1, OAuthTokens: 2, RememberedFactors: 1},
			{ID: "00ugone", Status: oktasim.StatusDeprovisioned, Profile: oktasim.Profile{Login: "gone@example.com"}},
			{ID: "00uadmin", Profile: oktasim.Profile{Login: "admin@example.com"}, AdminRoles: []string{"SUPER_ADMIN"}},
		},
		Groups: []oktasim.Group{{ID: "00grestricted", Name: "Restricted"}, {ID: "00gad", Type: oktasim.GroupApp, Name: "AD"}},
	}
}

func (s *simOrg) writer(t *testing.T, auth config.Auth) *Writer {
	t.Helper()
	w, err := NewWriter(Settings{Tenant: "acme", BaseURL: s.base, Auth: auth, MaxRetries: 3, RateLimitShare: 1,
		Now: s.clock.Now, Sleep: s.clock.Sleep})
	require.NoError(t, err)
	w.c.retry.RetryWaitMin, w.c.retry.RetryWaitMax = time.Millisecond, 2*time.Millisecond
	t.Cleanup(w.CloseIdleConnections)
	return w
}

func TestWriterActions(t *testing.T) {
	s := startSimOrg(t, directoryOptions())
	w := s.writer(t, sswsAuth())
	ctx := context.Background()
	start := s.clock.Now()

	r, err := w.ClearSessions(ctx, "00ujoren", false)
	require.NoError(t, err)
	require.Equal(t, http.StatusNoContent, r.Status)
	require.NotEmpty(t, r.RequestID)
	u, _ := s.org.User("00ujoren")
	require.Equal(t, 0, u.OAuthTokens, "oauthTokens=true is always sent")
	require.Equal(t, 1, u.RememberedFactors, "forgetDevices=false is sent explicitly")

	r, err = w.Suspend(ctx, "00ujoren")
	require.NoError(t, err)
	require.False(t, r.AlreadyDone)
	r, err = w.Suspend(ctx, "00ujoren")
	require.NoError(t, err, "already suspended is success")
	require.True(t, r.AlreadyDone)
	require.Contains(t, r.Detail, "SUSPENDED")

	_, err = w.Suspend(ctx, "00ugone")
	var se *StateError
	require.ErrorAs(t, err, &se)
	require.Equal(t, "DEPROVISIONED", se.Status)

	_, err = w.Unsuspend(ctx, "00ujoren")
	require.NoError(t, err)

	_, err = w.Suspend(ctx, "00unobody")
	var nf *NotFoundError
	require.ErrorAs(t, err, &nf)

	_, err = w.AddToGroup(ctx, "00grestricted", "00ujoren")
	require.NoError(t, err)
	gs, err := w.UserGroups(ctx, "00ujoren")
	require.NoError(t, err)
	require.Len(t, gs, 1)
	require.Equal(t, "OKTA_GROUP", gs[0].Type)
	_, err = w.AddToGroup(ctx, "00gad", "00ujoren")
	var ae *AccessError
	require.ErrorAs(t, err, &ae)
	require.Equal(t, "E0000006", ae.Code)
	g, err := w.Group(ctx, "00gad")
	require.NoError(t, err)
	require.Equal(t, "APP_GROUP", g.Type)

	roles, err := w.AdminRoles(ctx, "00uadmin")
	require.NoError(t, err)
	require.Equal(t, []string{"SUPER_ADMIN"}, roles)
	us, err := w.SearchUsers(ctx, `profile.login sw "JOREN"`, MaxUsersPage, 10)
	require.NoError(t, err)
	require.Len(t, us, 1)

	ev, err := w.FindEvent(ctx, "user.lifecycle.suspend", "00ujoren", "", "", start)
	require.NoError(t, err)
	require.NotNil(t, ev)
	require.NotEmpty(t, ev.APITokenID())
	ev, err = w.FindEvent(ctx, "group.user_membership.add", "00ujoren", "00grestricted", "", start)
	require.NoError(t, err)
	require.NotNil(t, ev)
	ev, err = w.FindEvent(ctx, "group.user_membership.remove", "00ujoren", "", "", start)
	require.NoError(t, err)
	require.Nil(t, ev)
}

func TestWriterErrorsByMeaning(t *testing.T) {
	s := startSimOrg(t, directoryOptions())
	ctx := context.Background()

	// A token with okta.users.read only: 403 naming the scope.
	reader := s.writer(t, config.Auth{Method: config.AuthClientSecret, ClientID: simClientID,
		ClientSecret: config.Secret(simSecret), Scopes: []string{"okta.users.read"}, DPoP: config.DPoPNever})
	_, err := reader.Suspend(ctx, "00ujoren")
	var ae *AccessError
	require.ErrorAs(t, err, &ae)
	require.Contains(t, err.Error(), "okta.users.manage")

	w := s.writer(t, sswsAuth())
	// 429: waits for the reset (on the fake clock) and succeeds.
	require.NoError(t, s.org.SetFault(oktasim.Fault{Kind: oktasim.FaultRateLimited, Endpoint: oktasim.EndpointManagement, ResetIn: 30 * time.Second}))
	before := s.clock.Now()
	_, err = w.ClearSessions(ctx, "00ujoren", true)
	require.NoError(t, err)
	require.GreaterOrEqual(t, s.clock.Now().Sub(before), 30*time.Second)

	// 5xx: retried.
	require.NoError(t, s.org.SetFault(oktasim.Fault{Kind: oktasim.FaultServerError, Endpoint: oktasim.EndpointManagement, Count: 2}))
	_, err = w.Suspend(ctx, "00ujoren")
	require.NoError(t, err)
	u, _ := s.org.User("00ujoren")
	require.Equal(t, oktasim.StatusSuspended, u.Status)

	// 5xx past the retries: a RetryableError.
	require.NoError(t, s.org.SetFault(oktasim.Fault{Kind: oktasim.FaultUnavailable, Endpoint: oktasim.EndpointManagement, Count: 10}))
	_, err = w.Unsuspend(ctx, "00ujoren")
	require.True(t, IsRetryable(err), "%v", err)
	s.org.ClearFaults()

	// A 429 that does not end within ctx.
	require.NoError(t, s.org.SetFault(oktasim.Fault{Kind: oktasim.FaultRateLimited, Endpoint: oktasim.EndpointManagement, ResetIn: time.Hour}))
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = w.Unsuspend(cctx, "00ujoren")
	require.True(t, errors.Is(err, context.Canceled), "%v", err)
}

// SearchUsers follows Okta's cursor pages (Link rel="next") until max
// users, and reads no page more than it needs.
func TestWriterSearchUsersPages(t *testing.T) {
	o := directoryOptions()
	for i := range 7 {
		login := fmt.Sprintf("page%d@example.com", i)
		o.Users = append(o.Users, oktasim.User{ID: fmt.Sprintf("00upage%d", i), Profile: oktasim.Profile{Login: login, Email: login}})
	}
	s := startSimOrg(t, o)
	w := s.writer(t, sswsAuth())
	ctx := context.Background()
	requests := func() int64 { return s.org.Stats().Requests[http.StatusOK] }
	for _, tc := range []struct {
		page, max, want int
		requests        int64
	}{
		{page: 2, max: 100, want: 7, requests: 4}, // 2+2+2+1, the last without a next link
		{page: 3, max: 5, want: 5, requests: 2},   // stops once max are read
		{page: 200, max: 100, want: 7, requests: 1},
		{page: 7, max: 100, want: 7, requests: 1}, // no next link when nothing more matches
	} {
		before := requests()
		us, err := w.SearchUsers(ctx, `profile.login sw "page"`, tc.page, tc.max)
		require.NoError(t, err)
		require.Len(t, us, tc.want, "%+v", tc)
		for i, u := range us {
			require.Equal(t, fmt.Sprintf("00upage%d", i), u.ID, "in Okta's order, none twice")
		}
		require.Equal(t, tc.requests, requests()-before, "%+v", tc)
	}
}

// A full page of 200 users is several hundred KiB: it is read whole, not
// cut at the size kept of an error body.
func TestWriterSearchUsersLargePage(t *testing.T) {
	o := directoryOptions()
	for i := range MaxUsersPage {
		login := fmt.Sprintf("big%03d@example.com", i)
		o.Users = append(o.Users, oktasim.User{ID: fmt.Sprintf("00ubig%03d", i), Profile: oktasim.Profile{Login: login, Email: login,
			FirstName: "Firstname", LastName: "Lastname", DisplayName: "Firstname Lastname " + strings.Repeat("x", 200)}})
	}
	s := startSimOrg(t, o)
	w := s.writer(t, sswsAuth())
	before := s.org.Stats().Requests[http.StatusOK]
	us, err := w.SearchUsers(context.Background(), `profile.login sw "big"`, MaxUsersPage, MaxUsersPage)
	require.NoError(t, err)
	require.Len(t, us, MaxUsersPage)
	require.Equal(t, int64(1), s.org.Stats().Requests[http.StatusOK]-before, "one page")
	b, err := json.Marshal(us)
	require.NoError(t, err)
	require.Greater(t, len(b), maxErrorBytes, "the page is larger than an error body")
}
