package event

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseRiskString(t *testing.T) {
	tests := []struct {
		name string
		give string
		want Risk
	}{
		{"level only", "{level=LOW}", Risk{Level: "LOW"}},
		{"reasons with comma before level",
			"{reasons=Anomalous Location, Anomalous Device, level=HIGH}",
			Risk{Level: "HIGH", Reasons: "Anomalous Location, Anomalous Device"}},
		{"level before reasons with comma",
			"{level=HIGH, reasons=Anomalous Location, Anomalous Device}",
			Risk{Level: "HIGH", Reasons: "Anomalous Location, Anomalous Device"}},
		{"itp user.risk.detect form",
			"{previousLevel=LOW, level=MEDIUM, detectionName=Session Influenced User Risk, reasons=Associated sessionId is suspected to be hijacked, issuer=OKTA}",
			Risk{Level: "MEDIUM", PreviousLevel: "LOW", DetectionName: "Session Influenced User Risk",
				Reasons: "Associated sessionId is suspected to be hijacked", Issuer: "OKTA"}},
		{"previousLevel is not level", "{previousLevel=HIGH}", Risk{PreviousLevel: "HIGH"}},
		{"previousLevel after level", "{level=LOW, previousLevel=HIGH}", Risk{Level: "LOW", PreviousLevel: "HIGH"}},
		{"lower-case level value", "{level=high}", Risk{Level: "HIGH"}},
		{"capitalised keys", "{Level=High, Reasons=New Device}", Risk{Level: "HIGH", Reasons: "New Device"}},
		{"unknown level", "{level=CRITICAL}", Risk{}},
		{"NONE level", "{level=NONE, reasons=x}", Risk{Reasons: "x"}},
		{"empty level", "{level=, reasons=x}", Risk{Reasons: "x"}},
		{"no braces", "reasons=Anomalous Device, level=MEDIUM", Risk{Level: "MEDIUM", Reasons: "Anomalous Device"}},
		{"blanks inside braces", "{ level=HIGH }", Risk{Level: "HIGH"}},
		{"surrounding blanks", "  {level=MEDIUM}  ", Risk{Level: "MEDIUM"}},
		{"comma without blank splits", "{reasons=a,level=HIGH}", Risk{Level: "HIGH", Reasons: "a"}},
		{"equals inside value", "{reasons=ratio=5, level=HIGH}", Risk{Level: "HIGH", Reasons: "ratio=5"}},
		{"comma then non-key stays in value", "{reasons=New IP, New Geo-Location=POSITIVE, level=LOW}",
			Risk{Level: "LOW", Reasons: "New IP, New Geo-Location=POSITIVE"}},
		{"unknown key splits and is ignored", "{reasons=Velocity, foo=bar, level=HIGH}", Risk{Level: "HIGH", Reasons: "Velocity"}},
		{"trailing comma", "{level=HIGH,}", Risk{Level: "HIGH"}},
		{"level value with trailing text", "{level=HIGH extra}", Risk{}},
		{"repeated key first wins", "{level=LOW, level=HIGH}", Risk{Level: "LOW"}},
		{"garbage before first key", "{garbage, level=HIGH}", Risk{Level: "HIGH"}},
		{"nested braces in value", "{reasons={x=y}, level=MEDIUM}", Risk{Level: "MEDIUM", Reasons: "{x=y}"}},
		{"missing closing brace", "{reasons=a, level=HIGH", Risk{Level: "HIGH", Reasons: "a"}},
		{"reasons value with braces at end", "{level=LOW, reasons=a}}", Risk{Level: "LOW", Reasons: "a}"}},
		{"empty map", "{}", Risk{}},
		{"empty string", "", Risk{}},
		{"only braces and commas", "{,,,}", Risk{}},
		{"key without value at end", "{level", Risk{}},
		{"digits are not key characters", "{reasons=a, l3vel=HIGH}", Risk{Reasons: "a, l3vel=HIGH"}},
		{"tab after comma", "{reasons=a,\tlevel=HIGH}", Risk{Level: "HIGH", Reasons: "a"}},
		{"json form", `{"level":"HIGH","reasons":"Anomalous Device"}`, Risk{Level: "HIGH", Reasons: "Anomalous Device"}},
		{"json form with array reasons", `{"level":"medium","reasons":["a","b"]}`, Risk{Level: "MEDIUM", Reasons: "a, b"}},
		{"json form with blanks", `{ "level" : "LOW" }`, Risk{Level: "LOW"}},
		{"broken json form falls back", `{"level":"HIGH"`, Risk{}},
		{"unicode in reasons", "{reasons=Anomalous Location – São Paulo, level=HIGH}",
			Risk{Level: "HIGH", Reasons: "Anomalous Location – São Paulo"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, ParseRiskString(tt.give))
		})
	}
}

func TestParseLogOnlySecurityData(t *testing.T) {
	tests := []struct {
		name string
		give string // raw JSON value of debugData.logOnlySecurityData
		want Risk
	}{
		{"json string", `"{\"risk\":{\"reasons\":\"Anomalous Device\",\"level\":\"MEDIUM\"},\"behaviors\":{\"New Device\":\"POSITIVE\"}}"`,
			Risk{Level: "MEDIUM", Reasons: "Anomalous Device"}},
		{"empty risk", `"{\"risk\":{},\"behaviors\":{}}"`, Risk{}},
		{"object instead of string", `{"risk":{"level":"HIGH"},"behaviors":{}}`, Risk{Level: "HIGH"}},
		{"risk as java map string", `{"risk":"{level=HIGH, reasons=x}"}`, Risk{Level: "HIGH", Reasons: "x"}},
		{"reasons array", `{"risk":{"level":"HIGH","reasons":["a",5,"b"]}}`, Risk{Level: "HIGH", Reasons: "a, b"}},
		{"wrong-typed level", `{"risk":{"level":5,"reasons":"x"}}`, Risk{Reasons: "x"}},
		{"invalid json in string", `"{\"risk\":"`, Risk{}},
		{"not an object", `"[1,2]"`, Risk{}},
		{"number", `5`, Risk{}},
		{"null", `null`, Risk{}},
		{"risk null", `{"risk":null}`, Risk{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, parseLogOnlySecurityData(json.RawMessage(tt.give)))
		})
	}
}

func TestPickRisk(t *testing.T) {
	srcs := [3]RiskSource{RiskSourceSecurityContext, RiskSourceDebugData, RiskSourceLogOnly}
	sc := Risk{Level: "HIGH", Reasons: "sc"}
	dd := Risk{Level: "HIGH", Reasons: "dd"}
	lo := Risk{Level: "HIGH", Reasons: "lo"}
	tests := []struct {
		name    string
		give    [3]Risk
		want    Risk
		wantSrc RiskSource
	}{
		{"none", [3]Risk{}, Risk{}, RiskSourceNone},
		{"tie prefers securityContext", [3]Risk{sc, dd, lo}, sc, RiskSourceSecurityContext},
		{"tie prefers debugData over logOnly", [3]Risk{{}, dd, lo}, dd, RiskSourceDebugData},
		{"highest wins", [3]Risk{{Level: "LOW"}, {Level: "MEDIUM"}, lo}, lo, RiskSourceLogOnly},
		{"level beats reasons only", [3]Risk{{Reasons: "x"}, {Level: "LOW"}, {}}, Risk{Level: "LOW"}, RiskSourceDebugData},
		{"reasons only when nothing has a level", [3]Risk{{}, {Reasons: "x"}, {}}, Risk{Reasons: "x"}, RiskSourceDebugData},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, src := pickRisk(tt.give, srcs)
			require.Equal(t, tt.want, got)
			require.Equal(t, tt.wantSrc, src)
		})
	}
}
