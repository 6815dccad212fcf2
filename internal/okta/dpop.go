package okta

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/url"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/riskpipe/riskpipe/internal/config"
)

// dpopServer names the two servers that hand out DPoP nonces. Each has its
// own nonce (RFC 9449 §8, §9).
type dpopServer int

const (
	tokenServer dpopServer = iota
	resourceServer
)

// dpopState is one client's DPoP key and nonces. The key is an ephemeral
// EC P-256 key made per client: tokens are bound to it, and it never leaves
// the process.
type dpopState struct {
	mode   string // config.DPoPAuto | config.DPoPAlways
	signer jose.Signer

	mu      sync.Mutex
	enabled bool
	nonces  [2]string
}

func newDPoP(mode string) (*dpopState, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate dpop key: %w", err)
	}
	opts := (&jose.SignerOptions{EmbedJWK: true}).WithType("dpop+jwt")
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key}, opts)
	if err != nil {
		return nil, fmt.Errorf("dpop signer: %w", err)
	}
	return &dpopState{mode: mode, signer: signer, enabled: mode == config.DPoPAlways}, nil
}

func (d *dpopState) on() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.enabled
}

// enable turns DPoP on (auto mode) and reports whether it was off.
func (d *dpopState) enable() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	was := d.enabled
	d.enabled = true
	return !was
}

func (d *dpopState) nonce(s dpopServer) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.nonces[s]
}

// setNonce remembers the latest DPoP-Nonce a server sent; "" keeps the
// current one.
func (d *dpopState) setNonce(s dpopServer, n string) {
	if n == "" {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.nonces[s] = n
}

type dpopClaims struct {
	HTM   string `json:"htm"`
	HTU   string `json:"htu"`
	IAT   int64  `json:"iat"`
	JTI   string `json:"jti"`
	Nonce string `json:"nonce,omitempty"`
	ATH   string `json:"ath,omitempty"`
}

// proof makes a DPoP proof JWT (RFC 9449 §4.2) for one request, with the
// server's current nonce and, for resource requests, the hash of the access
// token.
func (d *dpopState) proof(method string, u *url.URL, s dpopServer, accessToken string, now time.Time) (string, error) {
	c := dpopClaims{
		HTM:   method,
		HTU:   htu(u),
		IAT:   now.Unix(),
		JTI:   rand.Text(),
		Nonce: d.nonce(s),
	}
	if accessToken != "" {
		c.ATH = tokenHash(accessToken)
	}
	p, err := jwt.Signed(d.signer).Claims(c).Serialize()
	if err != nil {
		return "", fmt.Errorf("sign dpop proof: %w", err)
	}
	return p, nil
}

// htu is the request URL without query and fragment (RFC 9449 §4.2).
func htu(u *url.URL) string {
	v := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}
	return v.String()
}

// tokenHash is the ath claim: base64url(sha256(access token)), unpadded.
func tokenHash(tok string) string {
	h := sha256.Sum256([]byte(tok))
	return base64.RawURLEncoding.EncodeToString(h[:])
}

// nonceChallenge reports whether a 401 asks for a (new) DPoP nonce:
// `WWW-Authenticate: DPoP error="use_dpop_nonce"` plus a DPoP-Nonce header.
func nonceChallenge(wwwAuthenticate []string, nonce string) bool {
	if nonce == "" {
		return false
	}
	for _, c := range parseChallenges(wwwAuthenticate) {
		if c.Scheme == "dpop" && c.Params["error"] == "use_dpop_nonce" {
			return true
		}
	}
	return false
}
