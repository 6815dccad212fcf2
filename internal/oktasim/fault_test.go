package oktasim

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestFailingFaults(t *testing.T) {
	tests := []struct {
		give        Fault
		wantStatus  int
		wantCode    string
		wantHeaders []string // X-Rate-Limit-Limit, -Remaining, -Reset
	}{
		{give: Fault{Kind: FaultServerError, Count: 2}, wantStatus: 500, wantCode: "E0000009"},
		{give: Fault{Kind: FaultTimeout, Count: 2}, wantStatus: 500, wantCode: "E0000009"},
		{give: Fault{Kind: FaultUnavailable, Count: 2}, wantStatus: 503},
		{give: Fault{Kind: FaultRateLimited, Count: 2, ResetIn: 5 * time.Second}, wantStatus: 429, wantCode: "E0000047",
			wantHeaders: []string{"120", "0", strconv.FormatInt(t0.Add(5*time.Second).Unix(), 10)}},
		{give: Fault{Kind: FaultRateLimitedNoHeaders, Count: 2}, wantStatus: 429, wantCode: "E0000047", wantHeaders: []string{"", "", ""}},
		{give: Fault{Kind: FaultConcurrency, Count: 2}, wantStatus: 429, wantCode: "E0000047",
			wantHeaders: []string{"0", "0", strconv.FormatInt(t0.Add(time.Second).Unix(), 10)}},
	}
	for _, tt := range tests {
		t.Run(string(tt.give.Kind), func(t *testing.T) {
			clock := newClock()
			o, ts, base := oneOrg(t, clock, OrgOptions{Source: fakeSource{}, Backlog: 2, Tokens: []string{"tok"}})
			c := ts.Client()
			require.NoError(t, o.SetFault(tt.give))
			for range 2 {
				r := get(t, c, base+"/api/v1/logs", "Authorization", ssws)
				require.Equal(t, tt.wantStatus, r.StatusCode)
				if tt.wantCode != "" {
					require.Equal(t, tt.wantCode, r.oktaError(t).ErrorCode)
				}
				if tt.wantHeaders != nil {
					l, rem, reset := rateHeaders(r)
					require.Equal(t, tt.wantHeaders, []string{l, rem, reset})
				}
			}
			require.Len(t, get(t, c, base+"/api/v1/logs", "Authorization", ssws).events(t), 2, "the fault is spent")
			st := o.Stats()
			require.Equal(t, int64(2), st.Faults[tt.give.Kind])
			require.Equal(t, int64(2), st.Requests[tt.wantStatus])
			require.Equal(t, int64(1), st.Requests[200])
		})
	}
}

func TestFaultReset(t *testing.T) {
	clock := newClock()
	o, c, base := sswsOrg(t, clock, 2)
	require.NoError(t, o.SetFault(Fault{Kind: FaultReset}))
	// A fresh connection: Go retries an idempotent request once when a
	// reused connection dies before answering.
	tr := &http.Transport{DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequest(http.MethodGet, base+"/api/v1/logs", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", ssws)
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err == nil {
		resp.Body.Close()
	}
	require.Error(t, err)
	require.Len(t, get(t, c, base+"/api/v1/logs", "Authorization", ssws).events(t), 2)
	require.Equal(t, int64(1), o.Stats().Requests[0])
}

func TestFaultTruncated(t *testing.T) {
	clock := newClock()
	o, c, base := sswsOrg(t, clock, 5)
	full := get(t, c, base+"/api/v1/logs", "Authorization", ssws).body

	require.NoError(t, o.SetFault(Fault{Kind: FaultTruncated}))
	req, err := http.NewRequest(http.MethodGet, base+"/api/v1/logs", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", ssws)
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, int64(len(full)), resp.ContentLength)
	body, err := io.ReadAll(resp.Body)
	require.ErrorIs(t, err, io.ErrUnexpectedEOF)
	require.NotEmpty(t, body)
	require.Less(t, len(body), len(full))
	require.True(t, bytes.HasPrefix(full, body), "a prefix of the page")
	require.Greater(t, bytes.Count(body, []byte(`"uuid"`)), 4, "cut in the last event")
}

func TestFaultInvalidJSON(t *testing.T) {
	clock := newClock()
	o, c, base := sswsOrg(t, clock, 5)
	full := get(t, c, base+"/api/v1/logs", "Authorization", ssws).body
	require.NoError(t, o.SetFault(Fault{Kind: FaultInvalidJSON}))
	r := get(t, c, base+"/api/v1/logs", "Authorization", ssws)
	require.Equal(t, http.StatusOK, r.StatusCode)
	require.True(t, bytes.HasPrefix(full, r.body))
	require.Less(t, len(r.body), len(full))
	var v []any
	require.Error(t, json.Unmarshal(r.body, &v))
}

func TestFaultDuplicate(t *testing.T) {
	clock := newClock()
	o, c, base := sswsOrg(t, clock, 30)
	require.NoError(t, o.SetFault(Fault{Kind: FaultDuplicate, Events: 3}))
	r := get(t, c, base+"/api/v1/logs?limit=10", "Authorization", ssws)
	require.Equal(t, ids(0, 10), uuids(r.events(t)))
	r = get(t, c, r.links()["next"], "Authorization", ssws)
	require.Equal(t, ids(7, 17), uuids(r.events(t)), "the next page repeats the last 3 events")
	r = get(t, c, r.links()["next"], "Authorization", ssws)
	require.Equal(t, ids(17, 27), uuids(r.events(t)))

	t.Run("bounded", func(t *testing.T) {
		require.NoError(t, o.SetFault(Fault{Kind: FaultDuplicate, Events: 2}))
		u := base + "/api/v1/logs?limit=4&sortOrder=DESCENDING&since=" + url.QueryEscape(t0.Add(-time.Hour).Format(time.RFC3339))
		r := get(t, c, u, "Authorization", ssws)
		first := uuids(r.events(t))
		r = get(t, c, r.links()["next"], "Authorization", ssws)
		require.Equal(t, first[2:], uuids(r.events(t))[:2])
	})
}

func TestFaultMissingUUID(t *testing.T) {
	clock := newClock()
	o, c, base := sswsOrg(t, clock, 3)
	require.NoError(t, o.SetFault(Fault{Kind: FaultMissingUUID}))
	r := get(t, c, base+"/api/v1/logs", "Authorization", ssws)
	var evs []map[string]any
	require.NoError(t, json.Unmarshal(r.body, &evs))
	require.Len(t, evs, 3)
	for _, e := range evs {
		require.NotContains(t, e, "uuid")
		require.Equal(t, "WARN", e["severity"])
	}
	require.Equal(t, ids(0, 3), uuids(get(t, c, base+"/api/v1/logs", "Authorization", ssws).events(t)))
}

func TestFaultUnauthorizedSSWS(t *testing.T) {
	clock := newClock()
	o, c, base := sswsOrg(t, clock, 1)
	require.NoError(t, o.SetFault(Fault{Kind: FaultUnauthorized}))
	r := get(t, c, base+"/api/v1/logs", "Authorization", ssws)
	require.Equal(t, http.StatusUnauthorized, r.StatusCode)
	require.Equal(t, "E0000011", r.oktaError(t).ErrorCode)
	require.Equal(t, http.StatusOK, get(t, c, base+"/api/v1/logs", "Authorization", ssws).StatusCode)
}

func TestFaultExpireTokens(t *testing.T) {
	clock := newClock()
	o, ts, base := oneOrg(t, clock, OrgOptions{Source: fakeSource{}, Backlog: 1, Clients: []Client{{ID: "c", Secret: "s"}}})
	c := ts.Client()
	r := postForm(t, c, base+"/oauth2/v1/token", url.Values{"grant_type": {"client_credentials"}, "scope": {"okta.logs.read"}},
		"Authorization", "Basic "+basic("c", "s"))
	tok := r.token(t).AccessToken
	require.Equal(t, http.StatusOK, get(t, c, base+"/api/v1/logs", "Authorization", "Bearer "+tok).StatusCode)
	require.NoError(t, o.SetFault(Fault{Kind: FaultExpireTokens}))
	r = get(t, c, base+"/api/v1/logs", "Authorization", "Bearer "+tok)
	require.Equal(t, http.StatusUnauthorized, r.StatusCode)
	require.Contains(t, r.Header.Get("WWW-Authenticate"), `error="invalid_token"`)
}

func TestFaultSlow(t *testing.T) {
	clock := newClock()
	o, c, base := sswsOrg(t, clock, 2)
	require.NoError(t, o.SetFault(Fault{Kind: FaultSlow, Delay: 10 * time.Millisecond, Count: 2}))
	require.NoError(t, o.SetFault(Fault{Kind: FaultServerError}))
	require.Equal(t, http.StatusInternalServerError, get(t, c, base+"/api/v1/logs", "Authorization", ssws).StatusCode, "slow combines with a failure")
	require.Len(t, get(t, c, base+"/api/v1/logs", "Authorization", ssws).events(t), 2)
	require.Equal(t, int64(2), o.Stats().Faults[FaultSlow])
}

func TestFaultProbabilityIsSeeded(t *testing.T) {
	statuses := func() []int {
		clock := newClock()
		o, c, base := sswsOrg(t, clock, 1)
		require.NoError(t, o.SetFault(Fault{Kind: FaultServerError, Probability: 0.3}))
		var out []int
		for range 60 {
			out = append(out, get(t, c, base+"/api/v1/logs", "Authorization", ssws).StatusCode)
		}
		return out
	}
	a, b := statuses(), statuses()
	require.Equal(t, a, b, "same seed, same faults")
	require.Contains(t, a, 500)
	require.Contains(t, a, 200)
}

func TestFaultOnTokenEndpoint(t *testing.T) {
	clock := newClock()
	o, ts, base := oneOrg(t, clock, OrgOptions{Source: fakeSource{}, Backlog: 1, Clients: []Client{{ID: "c", Secret: "s"}}})
	c := ts.Client()
	require.NoError(t, o.SetFault(Fault{Kind: FaultUnavailable, Endpoint: EndpointToken}))
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {"okta.logs.read"}}
	r := postForm(t, c, base+"/oauth2/v1/token", form, "Authorization", "Basic "+basic("c", "s"))
	require.Equal(t, http.StatusServiceUnavailable, r.StatusCode)
	r = postForm(t, c, base+"/oauth2/v1/token", form, "Authorization", "Basic "+basic("c", "s"))
	require.Equal(t, http.StatusOK, r.StatusCode)
	require.Equal(t, http.StatusOK, get(t, c, base+"/api/v1/logs", "Authorization", "Bearer "+r.token(t).AccessToken).StatusCode)
}

func TestFaultValidation(t *testing.T) {
	clock := newClock()
	o, _, _ := sswsOrg(t, clock, 1)
	for _, f := range []Fault{
		{Kind: "nope"},
		{Kind: FaultServerError, Count: -1},
		{Kind: FaultServerError, Probability: 1.5},
		{Kind: FaultSlow},
		{Kind: FaultDuplicate, Endpoint: EndpointToken},
		{Kind: FaultServerError, Endpoint: "elsewhere"},
	} {
		require.Error(t, o.SetFault(f), "%+v", f)
	}
}

func TestFaultJSON(t *testing.T) {
	var f Fault
	require.NoError(t, json.Unmarshal([]byte(`{"kind":"slow","count":2,"delay":"1.5s","endpoint":"any"}`), &f))
	require.Equal(t, Fault{Kind: FaultSlow, Count: 2, Delay: 1500 * time.Millisecond, Endpoint: EndpointAny}, f)
	b, err := json.Marshal(f)
	require.NoError(t, err)
	require.JSONEq(t, `{"kind":"slow","count":2,"delay":"1.5s","endpoint":"any"}`, string(b))
	require.Error(t, json.Unmarshal([]byte(`{"kind":"slow","delay":"soon"}`), &f))
}

// Skip spares the first requests a fault would hit, failing or body fault.
func TestFaultSkip(t *testing.T) {
	clock := newClock()
	o, c, base := sswsOrg(t, clock, 5)
	require.NoError(t, o.SetFault(Fault{Kind: FaultServerError, Count: 1, Skip: 2}))
	require.NoError(t, o.SetFault(Fault{Kind: FaultInvalidJSON, Count: 1, Skip: 3}))
	var statuses []int
	var valid []bool
	for range 5 {
		r := get(t, c, base+"/api/v1/logs", "Authorization", ssws)
		statuses = append(statuses, r.StatusCode)
		valid = append(valid, r.StatusCode == http.StatusOK && json.Valid(r.body))
	}
	require.Equal(t, []int{200, 200, 500, 200, 200}, statuses, "the server error spares two requests")
	// The invalid body spares three normal answers (the 500 is not one).
	require.Equal(t, []bool{true, true, false, true, false}, valid)
	require.Error(t, o.SetFault(Fault{Kind: FaultServerError, Skip: -1}))

	var f Fault
	require.NoError(t, json.Unmarshal([]byte(`{"kind":"server_error","skip":4}`), &f))
	require.Equal(t, 4, f.Skip)
	b, err := json.Marshal(f)
	require.NoError(t, err)
	require.JSONEq(t, `{"kind":"server_error","skip":4}`, string(b))
}
