package api

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// errorOf requests path and returns the status and the error message.
func (e *env) errorOf(t *testing.T, method, path, token string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, nil)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := e.srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var eb errorBody
	_ = json.NewDecoder(resp.Body).Decode(&eb)
	return resp.StatusCode, eb.Error, resp.Header
}

// An unknown enum value is 400 naming the allowed values, not an empty 200.
func TestUnknownEnumValues(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct{ path, name, allowed string }{
		{"/api/v1/orgs/acme/events?category=bogus", "category", strings.Join(categories, ", ")},
		{"/api/v1/orgs/acme/events?category=threat_insight,bogus", "category", strings.Join(categories, ", ")},
		{"/api/v1/orgs/acme/events?category=threat_insight&category=bogus", "category", strings.Join(categories, ", ")},
		{"/api/v1/users?sort=bogus", "sort", strings.Join(sortKeys, ", ")},
		{"/api/v1/users?order=bogus", "order", "desc, asc"},
		{"/api/v1/activity?step=bogus", "step", "hour, day"},
	} {
		status, msg, _ := e.errorOf(t, http.MethodGet, tc.path, tokenAll)
		require.Equal(t, http.StatusBadRequest, status, "%s: %s", tc.path, msg)
		require.Equal(t, tc.name+` "bogus" is not one of `+tc.allowed, msg, tc.path)
	}
	status, body := e.get("/api/v1/orgs/acme/events?category=threat_insight,user_risk", tokenAcme)
	require.Equal(t, http.StatusOK, status, "%s", body)
}

// Times outside what ClickHouse's DateTime holds (1970 to 2106) are 400;
// the bounds themselves are accepted.
func TestTimeBounds(t *testing.T) {
	e := newEnv(t)
	const lo, hi = "1970-01-01T00:00:00Z", "2106-02-07T06:28:15Z"
	bad := []string{
		"from=1969-12-31T23:59:59Z", "to=1969-12-31T23:59:59Z", "from=-1", "to=-86400",
		"to=2106-02-07T06:28:16Z", "from=2262-04-12T00:00:00Z", "to=9999-12-31T23:59:59Z", "to=4294967296",
		"to=99999999999999999",
	}
	for _, path := range []string{"/api/v1/orgs/acme/events", "/api/v1/activity"} {
		for _, q := range bad {
			status, msg, _ := e.errorOf(t, http.MethodGet, path+"?"+q, tokenAcme)
			require.Equal(t, http.StatusBadRequest, status, "%s?%s: %s", path, q, msg)
			require.Contains(t, msg, "must be from "+lo+" to "+hi, q)
		}
	}
	for _, q := range []string{"since=1969-12-31T23:59:59Z", "since=2262-04-12T00:00:00Z", "since=-5"} {
		status, msg, _ := e.errorOf(t, http.MethodGet, "/api/v1/factor-updates?"+q, tokenAcme)
		require.Equal(t, http.StatusBadRequest, status, "%s: %s", q, msg)
	}

	for _, q := range []string{
		"from=" + lo + "&to=" + hi, "from=0&to=4294967295", "to=" + url.QueryEscape("1970-01-02T00:00:00+00:00"),
	} {
		status, body := e.get("/api/v1/orgs/acme/events?"+q, tokenAcme)
		require.Equal(t, http.StatusOK, status, "%s: %s", q, body)
	}
	// to at the lower bound: the default from (a day before) is clamped to
	// it, and from must be before to.
	status, msg, _ := e.errorOf(t, http.MethodGet, "/api/v1/orgs/acme/events?to="+lo, tokenAcme)
	require.Equal(t, http.StatusBadRequest, status)
	require.Equal(t, "from must be before to", msg)
	status, body := e.get("/api/v1/factor-updates?since="+lo, tokenAcme)
	require.Equal(t, http.StatusOK, status, "%s", body)
	status, body = e.get("/api/v1/activity?step=day&from=2106-01-01T00:00:00Z&to="+hi, tokenAcme)
	require.Equal(t, http.StatusOK, status, "%s", body)
}

// Another method on an endpoint is 405 with Allow; unknown paths stay 404.
func TestMethodNotAllowed(t *testing.T) {
	e := newEnv(t)
	for _, path := range []string{"/api/v1/orgs", "/api/v1/users", "/api/v1/orgs/acme/events", "/api/v1/orgs/acme/events/x",
		"/api/v1/factor-updates", "/api/v1/openapi.json"} {
		for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch} {
			status, msg, h := e.errorOf(t, m, path, tokenAll)
			require.Equal(t, http.StatusMethodNotAllowed, status, "%s %s: %s", m, path, msg)
			require.Equal(t, "GET, HEAD", h.Get("Allow"), "%s %s", m, path)
		}
	}
	status, _, _ := e.errorOf(t, http.MethodPost, "/api/v1/nope", tokenAll)
	require.Equal(t, http.StatusNotFound, status)
	status, _, _ = e.errorOf(t, http.MethodGet, "/api/v1/nope", tokenAll)
	require.Equal(t, http.StatusNotFound, status)
}

// /static/ serves files, never a directory listing.
func TestStaticServesNoDirectories(t *testing.T) {
	e := newEnv(t)
	for _, dir := range []string{"/static/", "/static/js/", "/static/vendor/", "/static/js", "/static/vendor"} {
		status, body := e.get(dir, "")
		require.Equal(t, http.StatusNotFound, status, "%s: %s", dir, body)
		require.NotContains(t, string(body), "main.js", dir)
	}
	status, body := e.get("/static/js/main.js", "")
	require.Equal(t, http.StatusOK, status)
	require.NotEmpty(t, body)
}
