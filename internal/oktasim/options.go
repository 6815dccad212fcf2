package oktasim

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Options configures a Server.
type Options struct {
	Orgs []OrgOptions
	// Now is the simulator's clock (default time.Now): persisted times,
	// visibility, retention, rate-limit windows, token expiry, DPoP iat and
	// nonces all use it. Delays (the slow fault) are real time.
	Now func() time.Time
	// Seed makes fault probabilities and error ids reproducible.
	Seed   int64
	Logger *slog.Logger // default: discard
}

// OrgOptions configures one org, served under /o/<Name>.
type OrgOptions struct {
	Name string // [A-Za-z0-9._-]+, unique
	// Source generates the org's events; required for EventsPerSecond,
	// Backlog, AddBacklog and SetRate (an org of injected events needs none).
	Source Source

	// Start is when the log begins (default: Now at New): Backlog events
	// are all persisted at Start, then EventsPerSecond runs from Start on. A
	// Start in the past makes that history visible at once.
	Start           time.Time
	Backlog         int64
	EventsPerSecond float64

	// Tokens are the org's SSWS API tokens. An org with neither Tokens nor
	// Clients accepts unauthenticated requests (handy for curl and demos).
	Tokens  []string
	Clients []Client
	// TokenOwners are more API tokens with the admin user who created
	// each and its roles (principal.go); Tokens are owned by Super
	// Administrators.
	TokenOwners []TokenOwner

	RateLimit RateLimitOptions
	// ManagementPerMinute is the bucket of the users and groups API
	// (default 600, Okta's /api/v1/users limit), shared by its endpoints.
	ManagementPerMinute int

	// Users and Groups are the org's directory (directory.go).
	Users  []User
	Groups []Group

	TokenLifetime time.Duration // access tokens; default 1h (Okta's fixed value)
	NonceLifetime time.Duration // DPoP nonce rotation; default 5m (the previous nonce stays valid)
}

// Client is an OAuth service app using the client_credentials grant.
type Client struct {
	ID string
	// Secret enables client_secret auth (HTTP Basic or form). Okta only
	// allows private_key_jwt for Okta-scoped tokens; the simulator accepts
	// both so both code paths can be tested.
	Secret string
	// PublicKey enables private_key_jwt: a crypto.PublicKey (*rsa.PublicKey,
	// *ecdsa.PublicKey, ed25519.PublicKey), a jose.JSONWebKey or a
	// jose.JSONWebKeySet (or pointers to them). Private keys are reduced to
	// their public half.
	PublicKey   any
	RequireDPoP bool
	// Scopes the client may request; default ["okta.logs.read"].
	Scopes []string
	// Roles are the admin role types assigned to the app; nil means
	// [SUPER_ADMIN] (Okta's "Public client app admins" setting), an empty
	// non-nil slice none.
	Roles []string
}

// RateLimitOptions are an org's /api/v1/logs limits.
type RateLimitOptions struct {
	// Disabled turns off all limits and the X-Rate-Limit-* headers (benchmarks).
	Disabled bool
	// PerMinute is the org bucket (default 120, Workforce Identity).
	PerMinute int
	// PerPrincipal caps one API token or OAuth client (default half of
	// PerMinute, Okta's default 50% share).
	PerPrincipal int
	// Concurrency is the in-flight request limit (default 75).
	Concurrency int
}

const (
	scopeLogsRead        = "okta.logs.read"
	defaultTokenLifetime = time.Hour
	defaultNonceLifetime = 5 * time.Minute
	defaultPerMinute     = 120
	defaultConcurrency   = 75
)

var orgNameRE = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)

func (o *RateLimitOptions) setDefaults() {
	if o.PerMinute <= 0 {
		o.PerMinute = defaultPerMinute
	}
	if o.PerPrincipal <= 0 {
		o.PerPrincipal = max(1, o.PerMinute/2)
	}
	if o.Concurrency <= 0 {
		o.Concurrency = defaultConcurrency
	}
}

func (o OrgOptions) validate() error {
	var errs []error
	if !orgNameRE.MatchString(o.Name) {
		errs = append(errs, fmt.Errorf("name %q: must match %s", o.Name, orgNameRE))
	}
	if o.Source == nil && (o.Backlog > 0 || o.EventsPerSecond > 0) {
		errs = append(errs, errors.New("backlog and events per second need a source"))
	}
	if o.Backlog < 0 || o.EventsPerSecond < 0 {
		errs = append(errs, errors.New("backlog and events per second must not be negative"))
	}
	seen := map[string]bool{}
	for i, c := range o.Clients {
		switch {
		case c.ID == "":
			errs = append(errs, fmt.Errorf("clients[%d]: empty id", i))
		case seen[c.ID]:
			errs = append(errs, fmt.Errorf("clients[%d]: duplicate id %q", i, c.ID))
		case c.Secret == "" && c.PublicKey == nil:
			errs = append(errs, fmt.Errorf("clients[%d]: needs a secret or a public key", i))
		}
		seen[c.ID] = true
		if c.PublicKey != nil {
			if _, err := verificationKey(c.PublicKey); err != nil {
				errs = append(errs, fmt.Errorf("clients[%d]: %w", i, err))
			}
		}
	}
	for i, t := range o.Tokens {
		if t == "" {
			errs = append(errs, fmt.Errorf("tokens[%d]: empty", i))
		}
	}
	for i, t := range o.TokenOwners {
		if t.Token == "" {
			errs = append(errs, fmt.Errorf("token_owners[%d]: empty token", i))
		}
	}
	return errors.Join(errs...)
}

// verificationKey normalises a client's registered key for go-jose.
func verificationKey(k any) (any, error) {
	switch key := k.(type) {
	case *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey:
		return key, nil
	case *rsa.PrivateKey, *ecdsa.PrivateKey, ed25519.PrivateKey:
		return key.(crypto.Signer).Public(), nil
	case jose.JSONWebKey:
		return publicJWK(key)
	case *jose.JSONWebKey:
		return publicJWK(*key)
	case jose.JSONWebKeySet:
		return publicSet(key), nil
	case *jose.JSONWebKeySet:
		return publicSet(*key), nil
	}
	return nil, fmt.Errorf("unsupported public key type %T", k)
}

func publicJWK(k jose.JSONWebKey) (any, error) {
	pub := k.Public()
	if !pub.Valid() {
		return nil, errors.New("the JSON web key is not an asymmetric key")
	}
	return pub, nil
}

func publicSet(s jose.JSONWebKeySet) jose.JSONWebKeySet {
	out := jose.JSONWebKeySet{Keys: make([]jose.JSONWebKey, len(s.Keys))}
	for i, k := range s.Keys {
		out.Keys[i] = k.Public()
	}
	return out
}
