package event

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var testNow = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func mustDecode(t testing.TB, raw string) Event {
	t.Helper()
	e, err := Decode([]byte(raw), testNow)
	require.NoError(t, err)
	require.Equal(t, raw, string(e.Raw))
	return e
}

func TestDecodeSignIn(t *testing.T) {
	raw, err := os.ReadFile("testdata/signin_high.json")
	require.NoError(t, err)
	e, err := Decode(raw, testNow)
	require.NoError(t, err)
	want := Event{
		ID:              "dc9fd3c0-598c-11ef-8478-2b7584bf8d5a",
		Published:       time.Date(2024, 8, 13, 15, 58, 20, 353e6, time.UTC),
		EventType:       "user.session.start",
		LegacyEventType: "core.user_auth.login_success",
		Severity:        "INFO",
		DisplayMessage:  "User login to Okta",
		ActorID:         "00uttidj01jqL21aM1d6",
		ActorType:       "User",
		ActorLogin:      "john.doe@example.com",
		ActorName:       "John Doe",
		ClientIP:        "10.0.0.1",
		Country:         "United States",
		Outcome:         "SUCCESS",
		RiskLevel:       "HIGH",
		RiskReasons:     "Anomalous Device",
		RiskDetection:   "Suspected Session Hijacking",
		RiskSource:      RiskSourceSecurityContext,
		TransactionID:   "ab609228fe84ce59cdcbfa690bgce016",
		SessionID:       "idxBager62CSveUkTxvgRtonA",
		Raw:             raw,
	}
	require.Equal(t, want, e)
}

func TestDecodeRawIsACopy(t *testing.T) {
	raw := []byte(`{"eventType":"x","uuid":"u1"}`)
	e, err := Decode(raw, testNow)
	require.NoError(t, err)
	raw[2] = 'X'
	require.Equal(t, `{"eventType":"x","uuid":"u1"}`, string(e.Raw))
	require.Equal(t, "x", e.EventType)
}

func TestDecodeNotAnObject(t *testing.T) {
	tests := []struct {
		name string
		give string
		want string
	}{
		{"empty", "", DecodeInvalidJSON},
		{"blank", " \n\t", DecodeInvalidJSON},
		{"array", `[{"eventType":"x"}]`, DecodeNotObject},
		{"string", `"x"`, DecodeNotObject},
		{"number", `12`, DecodeNotObject},
		{"bool", `true`, DecodeNotObject},
		{"null", `null`, DecodeNotObject},
		{"unterminated object", `{"eventType":"x"`, DecodeInvalidJSON},
		{"trailing garbage", `{"eventType":"x"} x`, DecodeInvalidJSON},
		{"two objects", `{}{}`, DecodeInvalidJSON},
		{"trailing comma", `{"a":1,}`, DecodeInvalidJSON},
		{"leading zero", `{"a":01}`, DecodeInvalidJSON},
		{"bad escape", `{"a":"\x"}`, DecodeInvalidJSON},
		{"control char in string", "{\"a\":\"\x01\"}", DecodeInvalidJSON},
		{"nul byte", "{\"a\":\x00}", DecodeInvalidJSON},
		{"single quotes", `{'a':1}`, DecodeInvalidJSON},
		{"unquoted key", `{a:1}`, DecodeInvalidJSON},
		{"bad literal", `{"a":tru}`, DecodeInvalidJSON},
		{"invalid inside skipped field", `{"eventType":"x","zzz":[1,2,}`, DecodeInvalidJSON},
		{"invalid inside known field", `{"actor":{"id":"a" "type":"User"}}`, DecodeInvalidJSON},
		{"jsonl of two lines", "{}\n{}", DecodeInvalidJSON},
		{"deep array, not object", strings.Repeat("[", 100000) + strings.Repeat("]", 100000), DecodeNotObject},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode([]byte(tt.give), testNow)
			var de *DecodeError
			require.True(t, errors.As(err, &de), "error %v", err)
			require.Equal(t, tt.want, de.Reason)
			require.NotEmpty(t, de.Error())
		})
	}
}

// TestDecodeTolerant: values of the wrong type leave their projection empty
// and never fail the decode.
func TestDecodeTolerant(t *testing.T) {
	tests := []struct {
		name  string
		give  string
		check func(t *testing.T, e Event)
	}{
		{"actor is a number", `{"eventType":"x","actor":5}`, func(t *testing.T, e Event) {
			require.Equal(t, "x", e.EventType)
			require.Empty(t, e.ActorID)
		}},
		{"debugData is a string", `{"eventType":"x","debugContext":{"debugData":"x"}}`, func(t *testing.T, e Event) {
			require.Equal(t, "x", e.EventType)
			require.Empty(t, e.RiskLevel)
		}},
		{"debugContext is an array", `{"debugContext":[1],"eventType":"x"}`, func(t *testing.T, e Event) {
			require.Equal(t, "x", e.EventType)
		}},
		{"actor field types mixed", `{"actor":{"id":5,"type":"User","alternateId":null,"displayName":["x"]}}`, func(t *testing.T, e Event) {
			require.Equal(t, "User", e.ActorType)
			require.Empty(t, e.ActorID)
		}},
		{"target is an object", `{"target":{"type":"User","id":"u"}}`, func(t *testing.T, e Event) {
			require.Empty(t, e.TargetUserID)
		}},
		{"target with junk elements", `{"target":[5,null,"x",{"type":"AppInstance","id":"a"},{"type":"user","id":"u1","alternateId":"a@b"},{"type":"User","id":"u2"}]}`, func(t *testing.T, e Event) {
			require.Equal(t, "u1", e.TargetUserID)
			require.Equal(t, "a@b", e.TargetUserLogin)
		}},
		{"uuid is a number", `{"uuid":5}`, func(t *testing.T, e Event) {
			require.True(t, e.IDDerived)
			require.True(t, strings.HasPrefix(e.ID, "sha256:"))
		}},
		{"eventType is an array", `{"eventType":["a"]}`, func(t *testing.T, e Event) {
			require.Empty(t, e.EventType)
		}},
		{"debugData values of wrong types", `{"debugContext":{"debugData":{"risk":5,"logOnlySecurityData":[1],"threatSuspected":1,"threatDetections":true}}}`, func(t *testing.T, e Event) {
			require.Empty(t, e.RiskLevel)
			require.False(t, e.ThreatSuspected)
			require.Nil(t, e.ThreatDetections)
		}},
		{"securityContext.risk as string", `{"securityContext":{"risk":"{level=HIGH}"}}`, func(t *testing.T, e Event) {
			require.Equal(t, "HIGH", e.RiskLevel)
			require.Equal(t, RiskSourceSecurityContext, e.RiskSource)
		}},
		{"nulls everywhere", `{"uuid":null,"eventType":null,"actor":null,"target":null,"client":null,"request":{"ipChain":null},"outcome":null,"transaction":null,"debugContext":{"debugData":null},"securityContext":{"risk":null},"published":null}`, func(t *testing.T, e Event) {
			require.True(t, e.IDDerived)
			require.Equal(t, "published missing", e.PublishedNote)
			require.Equal(t, testNow, e.Published)
		}},
		{"empty object", `{}`, func(t *testing.T, e Event) {
			require.True(t, e.IDDerived)
			require.Empty(t, e.EventType)
		}},
		{"ipChain fallback skips empty ip", `{"client":{"ipAddress":""},"request":{"ipChain":[{"geographicalContext":{"ip":"9.9.9.9"}},{"ip":"1.2.3.4"},{"ip":"5.6.7.8"}]}}`, func(t *testing.T, e Event) {
			require.Equal(t, "1.2.3.4", e.ClientIP)
		}},
		{"client ip wins over ipChain", `{"client":{"ipAddress":"1.1.1.1"},"request":{"ipChain":[{"ip":"2.2.2.2"}]}}`, func(t *testing.T, e Event) {
			require.Equal(t, "1.1.1.1", e.ClientIP)
		}},
		{"repeated key: last wins", `{"eventType":"a","eventtype":"b"}`, func(t *testing.T, e Event) {
			require.Equal(t, "b", e.EventType)
		}},
		{"escaped strings", `{"eventType":"user.session.st\u0061rt","displayMessage":"line\nbreak \ud83d\ude00"}`, func(t *testing.T, e Event) {
			require.Equal(t, "user.session.start", e.EventType)
			require.Equal(t, "line\nbreak 😀", e.DisplayMessage)
		}},
		{"escaped key", `{"event\u0054ype":"x"}`, func(t *testing.T, e Event) {
			require.Equal(t, "x", e.EventType)
		}},
		{"unicode key folding like encoding/json", `{"ſeverity":"WARN"}`, func(t *testing.T, e Event) {
			require.Equal(t, "WARN", e.Severity)
		}},
		{"invalid utf-8 replaced", "{\"displayMessage\":\"a\xffb\"}", func(t *testing.T, e Event) {
			require.Equal(t, "a\uFFFDb", e.DisplayMessage)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.check(t, mustDecode(t, tt.give))
		})
	}
}

func TestDecodeKeyCase(t *testing.T) {
	// Lower-cased top-level keys (Panther fixtures) and debugData key variants.
	raw := `{"eventtype":"security.threat.detected","displaymessage":"Request from suspicious actor",` +
		`"legacyeventtype":"security.threat.detected","authenticationcontext":{"externalSessionId":"s1"},` +
		`"securitycontext":{"risk":{"level":"medium"}},"transaction":{"id":"t1"},` +
		`"debugcontext":{"debugData":{"ThreatSuspected":"TRUE","threatdetections":"{\"Password Spray\":\"HIGH\"}"}}}`
	e := mustDecode(t, raw)
	require.Equal(t, "security.threat.detected", e.EventType)
	require.Equal(t, "Request from suspicious actor", e.DisplayMessage)
	require.Equal(t, "security.threat.detected", e.LegacyEventType)
	require.Equal(t, "s1", e.SessionID)
	require.Equal(t, "MEDIUM", e.RiskLevel)
	require.Equal(t, "t1", e.TransactionID)
	require.True(t, e.ThreatSuspected)
	require.Equal(t, map[string]string{"Password Spray": "HIGH"}, e.ThreatDetections)
}

func TestDecodeDebugData(t *testing.T) {
	tests := []struct {
		name       string
		give       string // debugData object
		wantLevel  string
		wantSrc    RiskSource
		wantReason string
		wantThreat bool
		wantDet    map[string]string
	}{
		{"threatSuspected string", `{"threatSuspected":"true"}`, "", "", "", true, nil},
		{"threatSuspected false", `{"threatSuspected":"false"}`, "", "", "", false, nil},
		{"threatSuspected bool", `{"threatSuspected":true}`, "", "", "", true, nil},
		{"ThreatSuspected capitalised", `{"ThreatSuspected":"true"}`, "", "", "", true, nil},
		{"threatsuspected lower", `{"threatsuspected":"True"}`, "", "", "", true, nil},
		{"threat_suspected snake", `{"threat_suspected":"true"}`, "", "", "", true, nil},
		{"camel wins over snake", `{"threat_suspected":"true","threatSuspected":"false"}`, "", "", "", false, nil},
		{"threatDetections", `{"threatDetections":"{\"Login failures with high unknown users count\":\"HIGH\",\"Password Spray\":\"HIGH\",\"Login Failures\":\"MEDIUM\"}"}`,
			"", "", "", false, map[string]string{"Login failures with high unknown users count": "HIGH", "Password Spray": "HIGH", "Login Failures": "MEDIUM"}},
		{"threatDetections invalid", `{"threatDetections":"{Password Spray=HIGH}"}`, "", "", "", false, nil},
		{"threatDetections object, non-strings dropped", `{"threatDetections":{"a":"HIGH","b":5}}`, "", "", "", false, map[string]string{"a": "HIGH"}},
		{"risk string", `{"risk":"{reasons=Anomalous Location, Anomalous Device, level=HIGH}"}`, "HIGH", RiskSourceDebugData, "Anomalous Location, Anomalous Device", false, nil},
		{"Risk capitalised", `{"Risk":"{level=MEDIUM}"}`, "MEDIUM", RiskSourceDebugData, "", false, nil},
		{"logOnly higher than risk", `{"risk":"{level=LOW}","logOnlySecurityData":"{\"risk\":{\"level\":\"HIGH\",\"reasons\":\"Anomalous Device\"}}"}`, "HIGH", RiskSourceLogOnly, "Anomalous Device", false, nil},
		{"risk wins tie over logOnly", `{"risk":"{level=LOW, reasons=a}","logOnlySecurityData":"{\"risk\":{\"level\":\"LOW\",\"reasons\":\"b\"}}"}`, "LOW", RiskSourceDebugData, "a", false, nil},
		{"logOnly snake", `{"log_only_security_data":"{\"risk\":{\"level\":\"MEDIUM\"}}"}`, "MEDIUM", RiskSourceLogOnly, "", false, nil},
		{"logOnly empty", `{"logOnlySecurityData":"{\"risk\":{},\"behaviors\":{}}"}`, "", "", "", false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := mustDecode(t, `{"debugContext":{"debugData":`+tt.give+`}}`)
			require.Equal(t, tt.wantLevel, e.RiskLevel)
			require.Equal(t, tt.wantSrc, e.RiskSource)
			require.Equal(t, tt.wantReason, e.RiskReasons)
			require.Equal(t, tt.wantThreat, e.ThreatSuspected)
			require.Equal(t, tt.wantDet, e.ThreatDetections)
		})
	}
}

func TestDecodeRiskPrecedence(t *testing.T) {
	// securityContext.risk is preferred on ties and its fields travel together.
	e := mustDecode(t, `{"securityContext":{"risk":{"level":"HIGH","reasons":["a","b"],"detectionName":"D","previousLevel":"low"}},`+
		`"debugContext":{"debugData":{"risk":"{level=HIGH, reasons=other, detectionName=X}"}}}`)
	require.Equal(t, "HIGH", e.RiskLevel)
	require.Equal(t, "a, b", e.RiskReasons)
	require.Equal(t, "D", e.RiskDetection)
	require.Equal(t, "LOW", e.PreviousLevel)
	require.Equal(t, RiskSourceSecurityContext, e.RiskSource)

	// A higher debugData level beats securityContext.
	e = mustDecode(t, `{"securityContext":{"risk":{"level":"MEDIUM","reasons":["a"]}},`+
		`"debugContext":{"debugData":{"risk":"{previousLevel=LOW, level=HIGH, detectionName=X, reasons=r, issuer=OKTA}"}}}`)
	require.Equal(t, "HIGH", e.RiskLevel)
	require.Equal(t, "r", e.RiskReasons)
	require.Equal(t, "X", e.RiskDetection)
	require.Equal(t, "LOW", e.PreviousLevel)
	require.Equal(t, RiskSourceDebugData, e.RiskSource)
}

func TestDerivedID(t *testing.T) {
	a := mustDecode(t, `{"eventType":"x","published":"2022-12-14 19:16:32.015","actor":{"id":"a","type":"User"},"n":1.50}`)
	b := mustDecode(t, "{ \"n\" : 1.50,\n\t\"actor\":{\"type\":\"User\",\"id\":\"a\"}, \"published\":\"2022-12-14 19:16:32.015\",\"eventType\":\"x\" }")
	c := mustDecode(t, `{"eventType":"x","published":"2022-12-14 19:16:32.015","actor":{"id":"b","type":"User"},"n":1.50}`)
	d := mustDecode(t, `{"eventType":"x","published":"2022-12-14 19:16:32.015","actor":{"id":"a","type":"User"},"n":1.5}`)
	e := mustDecode(t, `{"eventType":"x","uuid":"","published":"2022-12-14 19:16:32.015","actor":{"id":"a","type":"User"},"n":1.50}`)
	require.True(t, a.IDDerived)
	require.Regexp(t, `^sha256:[0-9a-f]{64}$`, a.ID)
	require.Equal(t, a.ID, b.ID, "whitespace and key order must not matter")
	require.NotEqual(t, a.ID, c.ID)
	require.NotEqual(t, a.ID, d.ID, "numbers keep their literal text")
	require.True(t, e.IDDerived, "empty uuid derives an id")
	require.NotEqual(t, a.ID, e.ID)

	u := mustDecode(t, `{"uuid":" abc ","eventType":"x"}`)
	require.Equal(t, "abc", u.ID)
	require.False(t, u.IDDerived)
}

// TestDecodeLarge: a 1 MB event and deeply nested fields decode without
// panicking or exhausting the stack.
func TestDecodeLarge(t *testing.T) {
	big := strings.Repeat("x", 1<<20)
	tests := []struct {
		name string
		give string
		want func(t *testing.T, e Event)
	}{
		{"1 MB displayMessage", `{"eventType":"user.session.start","displayMessage":"` + big + `"}`, func(t *testing.T, e Event) {
			require.Len(t, e.DisplayMessage, 1<<20)
		}},
		{"1 MB unknown field", `{"eventType":"user.session.start","junk":["` + big + `"]}`, func(t *testing.T, e Event) {
			require.Equal(t, "user.session.start", e.EventType)
		}},
		{"1 MB risk string", `{"debugContext":{"debugData":{"risk":"{reasons=` + strings.Repeat("a, ", 300000) + `level=HIGH}"}}}`, func(t *testing.T, e Event) {
			require.Equal(t, "HIGH", e.RiskLevel)
		}},
		{"100k nested arrays in a field", `{"eventType":"x","uuid":"u","junk":` + strings.Repeat("[", 100000) + strings.Repeat("]", 100000) + `}`, func(t *testing.T, e Event) {
			require.Equal(t, "x", e.EventType)
			require.Equal(t, "u", e.ID)
		}},
		{"100k nested objects without uuid", `{"eventType":"x","junk":` + strings.Repeat(`{"a":`, 100000) + "1" + strings.Repeat("}", 100000) + `}`, func(t *testing.T, e Event) {
			require.Equal(t, "x", e.EventType)
			require.True(t, e.IDDerived)
		}},
		{"100k nested arrays in debugData.risk", `{"debugContext":{"debugData":{"risk":` + strings.Repeat("[", 100000) + strings.Repeat("]", 100000) + `}}}`, func(t *testing.T, e Event) {
			require.Empty(t, e.RiskLevel)
		}},
		{"deep logOnlySecurityData string", `{"debugContext":{"debugData":{"logOnlySecurityData":"` + strings.Repeat(`{\"risk\":`, 100000) + `"}}}`, func(t *testing.T, e Event) {
			require.Empty(t, e.RiskLevel)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.want(t, mustDecode(t, tt.give))
		})
	}

	_, err := Decode([]byte(`{"junk":`+strings.Repeat("[", 100000)+`}`), testNow)
	var de *DecodeError
	require.ErrorAs(t, err, &de)
	require.Equal(t, DecodeInvalidJSON, de.Reason)
}

// corpusDir holds third-party Okta events, outside this repository.
const corpusDir = "../../../shared/corpus/okta"

// corpusLines returns every event line of the corpus keyed "file:line".
// Without the corpus the test is skipped, or fails when CI=true.
func corpusLines(t testing.TB) (keys []string, lines map[string][]byte) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(corpusDir, "*.jsonl"))
	if len(files) == 0 {
		if os.Getenv("CI") == "true" {
			t.Fatalf("corpus %s missing", corpusDir)
		}
		t.Skipf("corpus %s missing", corpusDir)
	}
	lines = map[string][]byte{}
	for _, f := range files {
		if filepath.Base(f) == "labels.jsonl" {
			continue
		}
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(nil, 16<<20)
		for n := 1; sc.Scan(); n++ {
			key := filepath.Base(f) + ":" + itoa(n)
			keys = append(keys, key)
			lines[key] = bytes.Clone(sc.Bytes())
		}
		require.NoError(t, sc.Err())
	}
	return keys, lines
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// TestDecodeCorpus cross-checks Decode with the corpus labels: every line
// decodes, and eventType and uuid agree with the labels (which matched
// top-level keys case-insensitively).
func TestDecodeCorpus(t *testing.T) {
	keys, lines := corpusLines(t)
	labels, err := os.ReadFile(filepath.Join(corpusDir, "labels.jsonl"))
	require.NoError(t, err)
	n := 0
	for l := range bytes.Lines(labels) {
		var lab struct {
			Source    string  `json:"source"`
			Line      int     `json:"line"`
			UUID      *string `json:"uuid"`
			EventType *string `json:"eventType"`
		}
		require.NoError(t, json.Unmarshal(l, &lab))
		raw, ok := lines[lab.Source+":"+itoa(lab.Line)]
		require.True(t, ok, "label without event: %s:%d", lab.Source, lab.Line)
		e, err := Decode(raw, testNow)
		require.NoError(t, err, "%s:%d", lab.Source, lab.Line)
		if lab.EventType != nil {
			require.Equal(t, *lab.EventType, e.EventType, "%s:%d", lab.Source, lab.Line)
		}
		if lab.UUID != nil && *lab.UUID != "" {
			require.Equal(t, *lab.UUID, e.ID)
		} else {
			require.True(t, e.IDDerived)
		}
		std, ok := decodeStd(raw, testNow)
		require.True(t, ok)
		require.Equal(t, std, e, "%s:%d differs from encoding/json", lab.Source, lab.Line)
		n++
	}
	require.Equal(t, len(keys), n, "every corpus line has a label")
}
