package okta

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	oktasdk "github.com/okta/okta-sdk-golang/v2/okta"
)

// RateLimitedError is a 429 from Okta (the API or the token endpoint). The
// client remembers Until: its next request to the same bucket is not sent
// before then, even if the caller ignores this error.
type RateLimitedError struct {
	// Until is when the next request may be sent, on the local clock
	// (X-Rate-Limit-Reset corrected for clock skew with the Date header, or
	// 60s from now when the headers are missing or invalid).
	Until time.Time
	// Concurrency is set for a concurrency 429 (X-Rate-Limit-Limit: 0): too
	// many requests in flight for the whole org, not a spent minute budget.
	Concurrency bool
	// Limit and Remaining are the X-Rate-Limit-* values of the 429.
	Limit, Remaining int
}

func (e *RateLimitedError) Error() string {
	kind := "rate"
	if e.Concurrency {
		kind = "concurrency"
	}
	return fmt.Sprintf("okta %s limit hit (limit %d, remaining %d): wait until %s",
		kind, e.Limit, e.Remaining, e.Until.UTC().Format(time.RFC3339))
}

// AuthError is a 401/403 from the API, or a failure at the token endpoint
// (invalid_client, invalid_scope, a DPoP proof Okta refuses...). Code is
// Okta's errorCode (E0000011) or the OAuth error (invalid_client).
type AuthError struct {
	Status  int
	Code    string
	Summary string
}

func (e *AuthError) Error() string {
	return "okta authentication failed: " + describe(e.Status, e.Code, e.Summary)
}

// PermanentError is a request Okta will refuse again if it is sent again:
// other 4xx (400 E0000001 validation, E0000053 since too old...), a
// redirect, a TLS verification failure, or a next link to another origin.
type PermanentError struct {
	Status  int // 0 when no response is involved
	Code    string
	Summary string
	// Causes are Okta's errorCauses summaries, if any.
	Causes []string
	// Err is the underlying error when there is no HTTP response (TLS).
	Err error
}

func (e *PermanentError) Error() string {
	s := "okta request rejected: " + describe(e.Status, e.Code, e.Summary)
	if len(e.Causes) > 0 {
		s += " (" + strings.Join(e.Causes, "; ") + ")"
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *PermanentError) Unwrap() error { return e.Err }

// RetryableError is a failure that may pass if retried later: 5xx (500
// E0000009 is Okta's 30 s query timeout), attempt timeouts, connection
// errors, response bodies cut short. Fetch has already retried it
// Settings.MaxRetries times. Err is an *okta.Error (SDK type) for 5xx with
// an Okta error body, the transport error otherwise.
type RetryableError struct {
	Status int // 0 when no response was received
	Err    error
}

func (e *RetryableError) Error() string {
	if e.Status == 0 {
		return fmt.Sprintf("okta request failed: %v", e.Err)
	}
	return fmt.Sprintf("okta request failed: status %d: %v", e.Status, e.Err)
}

func (e *RetryableError) Unwrap() error { return e.Err }

// IsRetryable reports whether err is (or wraps) a *RetryableError.
func IsRetryable(err error) bool {
	_, ok := errors.AsType[*RetryableError](err)
	return ok
}

// IsAuth reports whether err is (or wraps) an *AuthError.
func IsAuth(err error) bool {
	_, ok := errors.AsType[*AuthError](err)
	return ok
}

// IsRateLimited returns the *RateLimitedError in err's chain, if any.
func IsRateLimited(err error) (*RateLimitedError, bool) {
	return errors.AsType[*RateLimitedError](err)
}

func describe(status int, code, summary string) string {
	var b strings.Builder
	if status != 0 {
		fmt.Fprintf(&b, "status %d", status)
	}
	for _, s := range []string{code, summary} {
		if s == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteString(": ")
		}
		b.WriteString(s)
	}
	if b.Len() == 0 {
		return "unknown error"
	}
	return b.String()
}

// apiError is an Okta error body, decoded with the SDK's okta.Error, which
// covers both shapes Okta uses: {"errorCode","errorSummary","errorCauses"}
// on the management API and {"error","error_description"} on OAuth
// endpoints. Text is scrubbed of our secrets (servers may echo input).
type apiError struct {
	Code    string
	Summary string
	Causes  []string
}

func decodeAPIError(body []byte, scrub func(string) string) (apiError, *oktasdk.Error) {
	var oe oktasdk.Error
	if json.Unmarshal(body, &oe) != nil {
		return apiError{}, nil
	}
	oe.ErrorMessage = scrub(oe.ErrorMessage)
	oe.ErrorSummary = scrub(oe.ErrorSummary)
	oe.ErrorDescription = scrub(oe.ErrorDescription)
	ae := apiError{Code: oe.ErrorCode, Summary: oe.ErrorSummary}
	if ae.Code == "" {
		ae.Code = oe.ErrorMessage // OAuth "error"
	}
	if ae.Summary == "" {
		ae.Summary = oe.ErrorDescription
	}
	for i, c := range oe.ErrorCauses {
		if s, ok := c["errorSummary"].(string); ok {
			s = scrub(s)
			oe.ErrorCauses[i] = map[string]any{"errorSummary": s}
			ae.Causes = append(ae.Causes, s)
		} else {
			oe.ErrorCauses[i] = nil
		}
	}
	return ae, &oe
}

// serverError is the Err of a RetryableError for a 5xx: Okta's error (SDK
// type *okta.Error, e.g. errorCode E0000009) or just the status.
func serverError(status int, body []byte, scrub func(string) string) error {
	if ae, oe := decodeAPIError(body, scrub); oe != nil && (ae.Code != "" || ae.Summary != "") {
		return oe
	}
	return statusError(status)
}

// statusError is the Err of a RetryableError for a 5xx without an Okta
// error body (a proxy's 502 page).
type statusError int

func (s statusError) Error() string { return http.StatusText(int(s)) }

// attemptTimeoutError is one attempt running over Settings.RequestTimeout
// while the caller's context is still live.
type attemptTimeoutError struct{ d time.Duration }

func (e *attemptTimeoutError) Error() string {
	return fmt.Sprintf("attempt timed out after %s", e.d)
}
func (e *attemptTimeoutError) Timeout() bool { return true }

// transportRetryable decides whether a request that got no usable response
// is worth another attempt: yes for connection, timeout and truncation
// errors; no for our own typed errors (token endpoint) and TLS verification
// failures, which will not fix themselves.
func transportRetryable(err error) bool {
	switch {
	case errors.As(err, new(*RetryableError)):
		return true
	case errors.As(err, new(*AuthError)),
		errors.As(err, new(*PermanentError)),
		errors.As(err, new(*RateLimitedError)):
		return false
	case errors.As(err, new(*tls.CertificateVerificationError)),
		errors.As(err, new(x509.UnknownAuthorityError)),
		errors.As(err, new(x509.HostnameError)),
		errors.As(err, new(x509.CertificateInvalidError)):
		return false
	}
	return true
}

// classifyTransport turns an error without a usable response into a typed
// error.
func classifyTransport(err error) error {
	if e, ok := errors.AsType[*RateLimitedError](err); ok {
		return e
	}
	if e, ok := errors.AsType[*AuthError](err); ok {
		return e
	}
	if e, ok := errors.AsType[*PermanentError](err); ok {
		return e
	}
	if e, ok := errors.AsType[*RetryableError](err); ok {
		return e
	}
	if transportRetryable(err) {
		return &RetryableError{Err: err}
	}
	return &PermanentError{Summary: "transport", Err: err}
}
