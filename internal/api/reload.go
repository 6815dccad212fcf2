package api

import (
	"net/http"
	"time"
)

// ReloadAnswer documents the answer of POST /-/reload (app.ReloadStatus).
type ReloadAnswer struct {
	Successful  bool      `json:"successful"`
	LastSuccess time.Time `json:"last_success"`
	LastAttempt time.Time `json:"last_attempt"`
	Trigger     string    `json:"trigger"`
	Error       string    `json:"error,omitempty"`
	Problems    []struct {
		Path    string `json:"path"`
		Message string `json:"message"`
	} `json:"problems,omitempty"`
	Changes string `json:"changes,omitempty"`
}

// reload is POST /-/reload: Settings.Reload's status and answer.
func (a *API) reload(w http.ResponseWriter, r *http.Request) {
	if a.s.Reload == nil {
		writeError(w, http.StatusServiceUnavailable, "reloading is not available in this process")
		return
	}
	status, body := a.s.Reload(r.Context())
	a.log.Info("config reload requested", "token", principalFrom(r.Context()).name, "status", status)
	writeJSON(w, status, body)
}
