package api

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"sync"
	"time"
)

// SignInCodes are one-time sign-in codes for the dashboard: a short-lived,
// single-use code stands for an API token in a link (`riskpipe demo`
// prints one), so the token itself never enters the browser's address bar
// or history. The dashboard exchanges the code once, by POST, for the
// token, which it keeps in the tab's sessionStorage. Codes live in memory
// only: a restart voids them.
type SignInCodes struct {
	now   func() time.Time
	mu    sync.Mutex
	codes map[[sha256.Size]byte]signInCode // by the code's hash
}

type signInCode struct {
	token   string
	expires time.Time
}

// NewSignInCodes returns an empty set of codes; now is the clock (nil:
// time.Now).
func NewSignInCodes(now func() time.Time) *SignInCodes {
	if now == nil {
		now = time.Now
	}
	return &SignInCodes{now: now, codes: map[[sha256.Size]byte]signInCode{}}
}

// Issue returns a new code for token, valid once within ttl.
func (c *SignInCodes) Issue(token string, ttl time.Duration) (string, error) {
	if token == "" || ttl <= 0 {
		return "", errors.New("api: a sign-in code needs a token and a positive lifetime")
	}
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	code := base64.RawURLEncoding.EncodeToString(b)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sweep()
	c.codes[sha256.Sum256([]byte(code))] = signInCode{token: token, expires: c.now().Add(ttl)}
	return code, nil
}

// Redeem returns the token of code and voids the code; false when the code
// is unknown, used or expired.
func (c *SignInCodes) Redeem(code string) (string, bool) {
	k := sha256.Sum256([]byte(code))
	c.mu.Lock()
	defer c.mu.Unlock()
	sc, ok := c.codes[k]
	delete(c.codes, k)
	c.sweep()
	if !ok || !c.now().Before(sc.expires) {
		return "", false
	}
	return sc.token, true
}

// sweep drops expired codes; c.mu is held.
func (c *SignInCodes) sweep() {
	now := c.now()
	for k, sc := range c.codes {
		if !now.Before(sc.expires) {
			delete(c.codes, k)
		}
	}
}

// SignInRequest is the body of POST /api/v1/sign-in.
type SignInRequest struct {
	Code string `json:"code"`
}

// SignInAnswer is the answer of POST /api/v1/sign-in.
type SignInAnswer struct {
	Token string `json:"token"`
}

// signIn exchanges a one-time code for its token. Every failure is the
// same 401, so an answer tells nothing about which codes exist.
func (a *API) signIn(w http.ResponseWriter, r *http.Request) {
	var req SignInRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&req); err != nil || req.Code == "" {
		writeError(w, http.StatusBadRequest, `want a JSON body {"code": "..."}`)
		return
	}
	if a.s.SignInCodes == nil {
		writeError(w, http.StatusUnauthorized, "unknown, used or expired sign-in code")
		return
	}
	tok, ok := a.s.SignInCodes.Redeem(req.Code)
	if !ok {
		writeError(w, http.StatusUnauthorized, "unknown, used or expired sign-in code")
		return
	}
	a.log.Info("sign-in code redeemed")
	writeJSON(w, http.StatusOK, SignInAnswer{Token: tok})
}
