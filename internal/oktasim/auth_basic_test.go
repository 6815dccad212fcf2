package oktasim

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestClientSecretBasicFormEncoding: RFC 6749 §2.3.1 has client_secret_basic
// form-encode the client id and secret before Base64, as golang.org/x/oauth2
// and riskpipe do; the token endpoint decodes them, and still accepts
// clients that send them as they are.
func TestClientSecretBasicFormEncoding(t *testing.T) {
	const id, secret = "0oa+app", "p+ss/w:rd%20&=~"
	clock := newClock()
	o, ts, base := oneOrg(t, clock, OrgOptions{Clients: []Client{{ID: id, Secret: secret}}})
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {"okta.logs.read"}}
	tests := []struct {
		name       string
		id, secret string
		wantStatus int
	}{
		{name: "form-encoded", id: url.QueryEscape(id), secret: url.QueryEscape(secret), wantStatus: http.StatusOK},
		{name: "as is", id: id, secret: secret, wantStatus: http.StatusOK},
		{name: "wrong secret, encoded", id: url.QueryEscape(id), secret: url.QueryEscape("p+ss/w:rd"), wantStatus: http.StatusUnauthorized},
		{name: "the encoded secret is not the secret", id: id, secret: url.QueryEscape(url.QueryEscape(secret)), wantStatus: http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := postForm(t, ts.Client(), base+"/oauth2/v1/token", form, "Authorization", "Basic "+basic(tt.id, tt.secret))
			require.Equal(t, tt.wantStatus, r.StatusCode, string(r.body))
			if tt.wantStatus != http.StatusOK {
				require.Equal(t, "invalid_client", r.token(t).Error)
			}
		})
	}
	require.Equal(t, int64(2), o.Stats().TokensIssued)
}
