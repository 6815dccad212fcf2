package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/riskpipe/riskpipe/internal/config"
	"github.com/riskpipe/riskpipe/internal/privacy"
)

// Privacy answers privacy requests (privacy.Service).
type Privacy interface {
	Access(ctx context.Context, email, requestedBy string) (*privacy.AccessResult, error)
	Submit(ctx context.Context, email, requestedBy string) (string, <-chan privacy.Outcome, error)
	Request(ctx context.Context, id string) (*privacy.RequestState, error)
}

// PrivacyRequest is the body of both privacy requests.
type PrivacyRequest struct {
	Email string `json:"email"`
}

// PrivacyAccepted is the 202 answer of a deletion still running.
type PrivacyAccepted struct {
	RequestID string `json:"request_id"`
	Status    string `json:"status"`
}

const privacyOrgsDoc = "A privacy request covers the person in every org, so the token must be allowed every configured org " +
	"(tenants: [\"*\"] or all of them); otherwise 403. The email is never logged nor stored (privacy_requests keeps its HMAC)."

func (a *API) privacyRoutes() []route {
	bad := map[string]string{"400": "Not one email address, or a malformed body."}
	return []route{
		{method: "POST", pattern: "/api/v1/privacy/access", auth: true, role: config.RolePrivacy, handler: a.handle(a.privacyAccess), doc: opDoc{
			id: "privacyAccess", summary: "Everything riskpipe holds about the person with this email, in every org (GDPR Art. 15).",
			description: "Matches the email case-insensitively against logins and email fields, every user id org_users maps it to, " +
				"and the email or those ids anywhere in stored text or JSON, in every table. An unknown email answers 200 with empty results. " +
				privacyOrgsDoc,
			request: PrivacyRequest{}, response: privacy.AccessResult{}, statusDocs: bad,
		}},
		{method: "POST", pattern: "/api/v1/privacy/deletion", auth: true, role: config.RolePrivacy, handler: http.HandlerFunc(a.privacyDeletion), doc: opDoc{
			id: "privacyDeletion", summary: "Delete everything about the person with this email, in every org (GDPR Art. 17); 200 only once nothing remains.",
			description: "Deletes the person's rows, redacts them from others' rows, forgets them in memory, then proves the deletion " +
				"by scanning every text column of every table: 200 only with remaining 0. A deletion that does not finish within " +
				"privacy.sync_timeout answers 202 and keeps running: poll GET /api/v1/privacy/requests/{id}. Repeating a deletion is safe. " +
				privacyOrgsDoc,
			request: PrivacyRequest{}, response: privacy.DeletionResult{},
			statusDocs: map[string]string{"400": bad["400"], "202": "Still running: poll GET /api/v1/privacy/requests/{id}.",
				"500": "The deletion ended with data left (status incomplete, detail names the tables) or failed (run it again)."},
			statusTypes: map[string]any{"202": PrivacyAccepted{}, "500": privacy.DeletionResult{}},
		}},
		{method: "GET", pattern: "/api/v1/privacy/requests/{id}", auth: true, role: config.RolePrivacy, handler: a.handle(a.privacyRequest), doc: opDoc{
			id: "privacyRequest", summary: "The state of a privacy request: running, done, incomplete or failed, with its counts.",
			params:   []param{{name: "id", in: "path", typ: "string", required: true, description: "request_id of the request."}},
			response: privacy.RequestState{}, statusDocs: map[string]string{"404": "No request has this id."},
		}},
	}
}

// privacyPrincipal checks the token may use every org and returns its
// name.
func (a *API) privacyPrincipal(r *http.Request) (string, error) {
	p := principalFrom(r.Context())
	for _, o := range a.orgNames() {
		if !p.may(o) {
			return "", &httpError{status: http.StatusForbidden,
				msg: "privacy requests cover every org; this token may not use all of them (config api.tokens[].tenants)"}
		}
	}
	if a.s.Privacy == nil {
		return "", &httpError{status: http.StatusServiceUnavailable, msg: "privacy requests are not configured (privacy.hash_key)"}
	}
	return p.name, nil
}

func privacyEmail(r *http.Request) (string, error) {
	var body PrivacyRequest
	dec := json.NewDecoder(io.LimitReader(r.Body, 4096))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		return "", badRequest("body must be {\"email\": \"...\"}")
	}
	email, err := privacy.NormalizeEmail(body.Email)
	if err != nil {
		return "", badRequest("email must be one email address")
	}
	return email, nil
}

func (a *API) privacyAccess(r *http.Request) (any, error) {
	by, err := a.privacyPrincipal(r)
	if err != nil {
		return nil, err
	}
	email, err := privacyEmail(r)
	if err != nil {
		return nil, err
	}
	return a.s.Privacy.Access(r.Context(), email, by)
}

func (a *API) privacyRequest(r *http.Request) (any, error) {
	if _, err := a.privacyPrincipal(r); err != nil {
		return nil, err
	}
	st, err := a.s.Privacy.Request(r.Context(), r.PathValue("id"))
	if errors.Is(err, privacy.ErrNotFound) {
		return nil, &httpError{status: http.StatusNotFound, msg: "no privacy request has this id"}
	}
	return st, err
}

func (a *API) privacyDeletion(w http.ResponseWriter, r *http.Request) {
	fail := func(err error) {
		var he *httpError
		if errors.As(err, &he) {
			writeError(w, he.status, he.msg)
			return
		}
		a.log.Warn("privacy deletion failed", "token", principalFrom(r.Context()).name, "err", err)
		writeError(w, http.StatusServiceUnavailable, "privacy deletion failed; see the riskpipe log")
	}
	by, err := a.privacyPrincipal(r)
	if err != nil {
		fail(err)
		return
	}
	email, err := privacyEmail(r)
	if err != nil {
		fail(err)
		return
	}
	id, done, err := a.s.Privacy.Submit(r.Context(), email, by)
	if err != nil {
		fail(err)
		return
	}
	timeout := a.s.PrivacySyncTimeout
	if timeout <= 0 {
		timeout = privacy.DefaultSyncTimeout
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case out := <-done:
		switch {
		case out.Result != nil && out.Result.Done():
			writeJSON(w, http.StatusOK, out.Result)
		case out.Result != nil:
			// Never a 200 while data remains.
			writeJSON(w, http.StatusInternalServerError, out.Result)
		default:
			fail(out.Err)
		}
	case <-timer.C:
		w.Header().Set("Location", "/api/v1/privacy/requests/"+id)
		writeJSON(w, http.StatusAccepted, PrivacyAccepted{RequestID: id, Status: privacy.StatusRunning})
	case <-r.Context().Done():
	}
}
