package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// httpError is a client error with its status.
type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return e.msg }

func badRequest(format string, args ...any) *httpError {
	return &httpError{status: http.StatusBadRequest, msg: fmt.Sprintf(format, args...)}
}

// errorBody is every error answer.
type errorBody struct {
	Error string `json:"error"`
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, errorBody{Error: msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// handle adapts a handler that returns its answer or an error: an
// *httpError is the client's fault; anything else is ClickHouse failing,
// logged here and answered with 503 without details.
func (a *API) handle(f func(r *http.Request) (any, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, err := f(r)
		var he *httpError
		switch {
		case err == nil:
			writeJSON(w, http.StatusOK, v)
		case errors.As(err, &he):
			writeError(w, he.status, he.msg)
		case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
			// The client went away.
		default:
			a.log.Warn("api query failed", "path", r.URL.Path, "token", principalFrom(r.Context()).name, "err", err)
			writeError(w, http.StatusServiceUnavailable, "clickhouse query failed; see the riskpipe log")
		}
	})
}

// intParam parses ?name= as an integer in [lo, hi]; absent: def.
func intParam(r *http.Request, name string, def, lo, hi int) (int, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, badRequest("%s must be an integer from %d to %d", name, lo, hi)
	}
	return n, nil
}

// minTime and maxTime bound the times the API accepts: what a ClickHouse
// DateTime holds (Unix seconds as UInt32), where every time riskpipe
// stores lives. Outside, a time is a mistake (a year typed wrong), or
// overflows the nanoseconds Go and the driver compute with after 2262.
var (
	minTime = time.Unix(0, 0).UTC()
	maxTime = time.Unix(math.MaxUint32, 0).UTC()
)

// timeParam parses ?name= as RFC 3339 (or Unix seconds) from minTime to
// maxTime; absent: def.
func timeParam(r *http.Request, name string, def time.Time) (time.Time, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return def, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		n, nerr := strconv.ParseInt(s, 10, 64)
		if nerr != nil {
			return time.Time{}, badRequest("%s must be an RFC 3339 time (2026-03-14T09:26:53Z) or Unix seconds", name)
		}
		if n < minTime.Unix() || n > maxTime.Unix() {
			return time.Time{}, outOfRange(name)
		}
		t = time.Unix(n, 0)
	}
	if t.Before(minTime) || t.After(maxTime) {
		return time.Time{}, outOfRange(name)
	}
	return t.UTC(), nil
}

func outOfRange(name string) error {
	return badRequest("%s must be from %s to %s (Unix seconds 0 to %d)", name,
		minTime.Format(time.RFC3339), maxTime.Format(time.RFC3339), maxTime.Unix())
}

// notBeforeMinTime is t, or minTime when t is earlier (a default derived
// from another time, such as to minus a day).
func notBeforeMinTime(t time.Time) time.Time {
	if t.Before(minTime) {
		return minTime
	}
	return t
}

// enumParam returns ?name= if it is one of allowed; absent: allowed[0].
func enumParam(r *http.Request, name string, allowed ...string) (string, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return allowed[0], nil
	}
	if !slices.Contains(allowed, s) {
		return "", notAllowed(name, s, allowed)
	}
	return s, nil
}

// enumListParam returns the values of ?name= (repeated, or
// comma-separated), each one of allowed; absent: nil.
func enumListParam(r *http.Request, name string, allowed []string) ([]string, error) {
	var out []string
	for _, v := range r.URL.Query()[name] {
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s == "" {
				continue
			}
			if !slices.Contains(allowed, s) {
				return nil, notAllowed(name, s, allowed)
			}
			out = append(out, s)
		}
	}
	return out, nil
}

func notAllowed(name, value string, allowed []string) error {
	return badRequest("%s %q is not one of %s", name, value, strings.Join(allowed, ", "))
}

// timePtr is t, or nil for the zero time (JSON null).
func timePtr(t time.Time) *time.Time {
	if t.IsZero() || t.Unix() <= 0 {
		return nil
	}
	t = t.UTC()
	return &t
}
