package config

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestBaseURL(t *testing.T) {
	const httpOnlyLoopback = "tenants[0].base_url: http is allowed only for loopback hosts (localhost, 127.0.0.0/8, ::1); use https"
	tests := []struct {
		give    string
		want    string // the normalised base_url when valid
		wantErr string
	}{
		{give: "http://localhost:8800", want: "http://localhost:8800"},
		{give: "http://LocalHost:8800/o/acme/", want: "http://LocalHost:8800/o/acme"},
		{give: "http://127.0.0.1:8800/o/acme", want: "http://127.0.0.1:8800/o/acme"},
		{give: "http://127.0.0.2", want: "http://127.0.0.2"},
		{give: "http://127.255.255.254:1", want: "http://127.255.255.254:1"},
		{give: "http://[::1]:1", want: "http://[::1]:1"},
		{give: "https://acme.okta.com/", want: "https://acme.okta.com"},
		{give: "https://acme.oktapreview.com", want: "https://acme.oktapreview.com"},
		{give: "https://acme.okta-emea.com", want: "https://acme.okta-emea.com"},
		{give: "https://login.example.com", want: "https://login.example.com"},
		{give: "https://login.example.com:8443/okta//", want: "https://login.example.com:8443/okta"},
		{give: "http://acme.okta.com", wantErr: httpOnlyLoopback},
		{give: "http://128.0.0.1", wantErr: httpOnlyLoopback},
		{give: "http://0.0.0.0:8800", wantErr: httpOnlyLoopback},
		{give: "http://[::2]", wantErr: httpOnlyLoopback},
		{give: "http://localhost.example.com", wantErr: httpOnlyLoopback},
		{give: "ftp://x", wantErr: "tenants[0].base_url: scheme must be https (or http for a loopback host)"},
		{give: "https:acme.okta.com", wantErr: "tenants[0].base_url: not a valid URL"},
	}
	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			cfg, err := Parse([]byte(tenantYAML(`"`+tt.give+`"`)), MapEnv(nil))
			if tt.wantErr != "" {
				require.Equal(t, []string{tt.wantErr}, problemLines(t, err))
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, cfg.Tenants[0].BaseURL)
		})
	}
}
