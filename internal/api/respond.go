package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
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

// timeParam parses ?name= as RFC 3339 (or Unix seconds); absent: def.
func timeParam(r *http.Request, name string, def time.Time) (time.Time, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return def, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(n, 0).UTC(), nil
	}
	return time.Time{}, badRequest("%s must be an RFC 3339 time (2026-03-14T09:26:53Z) or Unix seconds", name)
}

// enumParam returns ?name= if it is one of allowed; absent: allowed[0].
func enumParam(r *http.Request, name string, allowed ...string) (string, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return allowed[0], nil
	}
	for _, v := range allowed {
		if s == v {
			return s, nil
		}
	}
	return "", badRequest("%s must be one of %v", name, allowed)
}

// timePtr is t, or nil for the zero time (JSON null).
func timePtr(t time.Time) *time.Time {
	if t.IsZero() || t.Unix() <= 0 {
		return nil
	}
	t = t.UTC()
	return &t
}
