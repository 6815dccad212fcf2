package oktasim

import (
	"crypto"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// DPoP (RFC 9449) as Okta runs it: proofs at the token endpoint and at the
// resource, nonces handed out with use_dpop_nonce, tokens bound to the
// proof key's thumbprint (cnf.jkt).

// nonce returns the DPoP nonce of a rotation epoch.
func (a *authServer) nonce(epoch int64) string {
	m := hmac.New(sha256.New, a.nonceKey)
	m.Write(strconv.AppendInt(nil, epoch, 10))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:16])
}

func (a *authServer) epoch(now time.Time) int64 {
	return now.UnixNano() / int64(a.nonceLifetime)
}

func (a *authServer) currentNonce(now time.Time) string { return a.nonce(a.epoch(now)) }

// validNonce accepts the current and the previous nonce.
func (a *authServer) validNonce(n string, now time.Time) bool {
	e := a.epoch(now)
	return n != "" && (n == a.nonce(e) || n == a.nonce(e-1))
}

// dpopProof is a verified DPoP proof.
type dpopProof struct {
	jkt string
	ath string
}

type proofError struct {
	nonce bool // missing or stale nonce: answer use_dpop_nonce
	desc  string
}

type proofClaims struct {
	JTI   string   `json:"jti"`
	HTM   string   `json:"htm"`
	HTU   string   `json:"htu"`
	IAT   *float64 `json:"iat"`
	Nonce string   `json:"nonce"`
	ATH   string   `json:"ath"`
}

// verifyProof checks a DPoP proof for method and url (RFC 9449 §4.3); its
// jti is spent only when everything, nonce included, checks out.
func (a *authServer) verifyProof(proof, method, url string, now time.Time) (dpopProof, *proofError) {
	bad := func(desc string) (dpopProof, *proofError) { return dpopProof{}, &proofError{desc: desc} }
	jws, err := jose.ParseSignedCompact(proof, jwsAlgs)
	if err != nil || len(jws.Signatures) != 1 {
		return bad("The DPoP proof JWT is malformed or uses an unsupported algorithm.")
	}
	h := jws.Signatures[0].Protected
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); typ != "dpop+jwt" {
		return bad("The DPoP proof JWT 'typ' header must be 'dpop+jwt'.")
	}
	if h.JSONWebKey == nil || !h.JSONWebKey.IsPublic() || !h.JSONWebKey.Valid() {
		return bad("The DPoP proof JWT 'jwk' header is missing or not a public key.")
	}
	payload, err := jws.Verify(h.JSONWebKey)
	if err != nil {
		return bad("The DPoP proof JWT signature is invalid.")
	}
	var c proofClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		return bad("The DPoP proof JWT claims are invalid.")
	}
	switch {
	case c.JTI == "":
		return bad("The DPoP proof JWT 'jti' claim is missing.")
	case c.HTM != method:
		return bad("The DPoP proof JWT 'htm' claim does not match the request method.")
	case !sameHTU(c.HTU, url):
		return bad("The DPoP proof JWT 'htu' claim does not match the request URL.")
	case c.IAT == nil:
		return bad("The DPoP proof JWT 'iat' claim is missing.")
	}
	iat := time.Unix(0, int64(*c.IAT*1e9))
	if iat.Before(now.Add(-proofSkew)) || iat.After(now.Add(proofSkew)) {
		return bad("The DPoP proof JWT 'iat' claim is outside the acceptable window.")
	}
	if !a.validNonce(c.Nonce, now) {
		return dpopProof{}, &proofError{nonce: true, desc: "The DPoP proof JWT nonce is missing or stale."}
	}
	thumb, err := h.JSONWebKey.Thumbprint(crypto.SHA256)
	if err != nil {
		return bad("The DPoP proof JWT 'jwk' header cannot be thumbprinted.")
	}
	if !a.useJTI("dpop:"+c.JTI, now.Add(2*proofSkew), now) {
		return bad("The DPoP proof JWT 'jti' has already been used.")
	}
	return dpopProof{jkt: base64.RawURLEncoding.EncodeToString(thumb), ath: c.ATH}, nil
}

// sameHTU compares htu with the request URL, ignoring query and fragment
// and the case of scheme and host.
func sameHTU(htu, want string) bool {
	if i := strings.IndexAny(htu, "?#"); i >= 0 {
		htu = htu[:i]
	}
	hs, hrest, ok1 := strings.Cut(htu, "://")
	ws, wrest, ok2 := strings.Cut(want, "://")
	if !ok1 || !ok2 || !strings.EqualFold(hs, ws) {
		return false
	}
	hh, hp, _ := strings.Cut(hrest, "/")
	wh, wp, _ := strings.Cut(wrest, "/")
	return strings.EqualFold(hh, wh) && hp == wp
}

// accessTokenHash is the DPoP ath of an access token.
func accessTokenHash(tok string) string {
	sum := sha256.Sum256([]byte(tok))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
