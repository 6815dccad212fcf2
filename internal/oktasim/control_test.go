package oktasim

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestControlAPI(t *testing.T) {
	clock := newClock()
	sim, ts := startSim(t, Options{Now: clock.Now, Orgs: []OrgOptions{
		{Name: "acme", Source: fakeSource{}, Backlog: 2, Tokens: []string{"tok"}},
		{Name: "globex", Tokens: []string{"tok"}},
	}})
	c := ts.Client()
	acme := sim.BaseURL(ts.URL, "acme")
	post := func(path, body string) response {
		return do(t, c, http.MethodPost, ts.URL+path, strings.NewReader(body), "Content-Type", "application/json")
	}

	r := get(t, c, ts.URL+"/_sim/healthz")
	require.Equal(t, http.StatusOK, r.StatusCode)
	r = get(t, c, ts.URL+"/_sim/orgs")
	require.JSONEq(t, `["acme","globex"]`, string(r.body))

	require.Equal(t, http.StatusNoContent, post("/_sim/orgs/acme/faults", `{"kind":"server_error","count":1}`).StatusCode)
	require.Equal(t, http.StatusInternalServerError, get(t, c, acme+"/api/v1/logs", "Authorization", ssws).StatusCode)
	require.Equal(t, http.StatusNoContent, post("/_sim/orgs/acme/faults", `{"kind":"unavailable","probability":1}`).StatusCode)
	require.Equal(t, http.StatusServiceUnavailable, get(t, c, acme+"/api/v1/logs", "Authorization", ssws).StatusCode)
	r = do(t, c, http.MethodDelete, ts.URL+"/_sim/orgs/acme/faults", nil)
	require.Equal(t, http.StatusNoContent, r.StatusCode)
	require.Equal(t, http.StatusOK, get(t, c, acme+"/api/v1/logs", "Authorization", ssws).StatusCode)

	require.Equal(t, http.StatusBadRequest, post("/_sim/orgs/acme/faults", `{"kind":"nope"}`).StatusCode)
	require.Equal(t, http.StatusBadRequest, post("/_sim/orgs/acme/faults", `{"kind":"slow","delay":"x"}`).StatusCode)
	require.Equal(t, http.StatusNotFound, post("/_sim/orgs/nope/faults", `{"kind":"reset"}`).StatusCode)

	require.Equal(t, http.StatusNoContent, post("/_sim/orgs/acme/backlog", `{"count":3}`).StatusCode)
	require.Equal(t, http.StatusBadRequest, post("/_sim/orgs/globex/backlog", `{"count":3}`).StatusCode, "globex has no source")
	require.Equal(t, http.StatusNoContent, post("/_sim/orgs/acme/events", `[{"uuid":"inj-1","published":"2026-03-01T11:59:00.000Z"}]`).StatusCode)
	require.Equal(t, http.StatusNoContent, post("/_sim/orgs/acme/rate", `{"events_per_second":2}`).StatusCode)
	clock.Add(time.Second)
	require.Equal(t, http.StatusNoContent, post("/_sim/orgs/acme/expire-tokens", ``).StatusCode)

	r = get(t, c, ts.URL+"/_sim/orgs/acme/truth?since="+url.QueryEscape(t0.Format(time.RFC3339)))
	require.Equal(t, http.StatusOK, r.StatusCode)
	var truth []struct {
		ID        string    `json:"id"`
		Published time.Time `json:"published"`
		Persisted time.Time `json:"persisted"`
	}
	require.NoError(t, json.Unmarshal(r.body, &truth))
	var got []string
	for _, e := range truth {
		got = append(got, e.ID)
	}
	require.Equal(t, []string{"ev-0", "ev-1", "ev-2", "ev-3", "ev-4", "inj-1", "ev-6", "ev-7", "ev-8"}, got)
	require.Equal(t, t0.Add(time.Second), truth[8].Persisted)

	r = get(t, c, ts.URL+"/_sim/orgs/acme/stats")
	var st Stats
	require.NoError(t, json.Unmarshal(r.body, &st))
	require.Equal(t, int64(1), st.Requests[500])
	require.Equal(t, int64(1), st.Requests[503])
	require.Equal(t, int64(1), st.Requests[200])
	require.Equal(t, int64(2), st.EventsServed)
	require.Equal(t, int64(9), st.Events)
	require.Equal(t, int64(1), st.Faults[FaultServerError])
	require.Equal(t, sim.Org("acme").Stats(), st)
	require.Contains(t, sim.Stats(), "globex")
}

func TestNewRejectsBadOptions(t *testing.T) {
	tests := []struct {
		name string
		give Options
	}{
		{"bad name", Options{Orgs: []OrgOptions{{Name: "a/b"}}}},
		{"duplicate org", Options{Orgs: []OrgOptions{{Name: "a"}, {Name: "a"}}}},
		{"rate without source", Options{Orgs: []OrgOptions{{Name: "a", EventsPerSecond: 1}}}},
		{"client without credentials", Options{Orgs: []OrgOptions{{Name: "a", Clients: []Client{{ID: "c"}}}}}},
		{"client with a bad key", Options{Orgs: []OrgOptions{{Name: "a", Clients: []Client{{ID: "c", PublicKey: "pem?"}}}}}},
		{"duplicate client", Options{Orgs: []OrgOptions{{Name: "a", Clients: []Client{{ID: "c", Secret: "s"}, {ID: "c", Secret: "s"}}}}}},
		{"empty token", Options{Orgs: []OrgOptions{{Name: "a", Tokens: []string{""}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.give)
			require.Error(t, err)
		})
	}
}

func TestOpenOrgNeedsNoAuth(t *testing.T) {
	clock := newClock()
	_, ts, base := oneOrg(t, clock, OrgOptions{Source: fakeSource{}, Backlog: 2})
	require.Len(t, get(t, ts.Client(), base+"/api/v1/logs").events(t), 2)
}
