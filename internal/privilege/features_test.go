package privilege

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/config"
)

// TestFeatures: the tenant's credential is judged for what the tenant
// uses it for: the System Log always, identity matching and response
// actions as its response mode asks, none of those when response has a
// credential of its own.
func TestFeatures(t *testing.T) {
	own := &config.Auth{Method: config.AuthAPIToken, Token: "write-token"}
	tests := []struct {
		name string
		resp config.Response
		want []Feature
	}{
		{"response off", config.Response{Mode: config.ResponseOff}, []Feature{FeatureSystemLog}},
		{"response unset", config.Response{}, []Feature{FeatureSystemLog}},
		{"dry run reads only", config.Response{Mode: config.ResponseDryRun}, []Feature{FeatureSystemLog, FeatureIdentity}},
		{"approve", config.Response{Mode: config.ResponseApprove}, []Feature{FeatureSystemLog, FeatureIdentity, FeatureResponse}},
		{"auto", config.Response{Mode: config.ResponseAuto}, []Feature{FeatureSystemLog, FeatureIdentity, FeatureResponse}},
		{"own write credential", config.Response{Mode: config.ResponseAuto, Auth: own}, []Feature{FeatureSystemLog}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, Features(config.Tenant{Name: "acme", Response: tt.resp}))
		})
	}
}
