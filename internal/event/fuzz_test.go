package event

import (
	"errors"
	"os"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

// addCorpusSeeds seeds f with every corpus event and the testdata events,
// when the corpus is there.
func addCorpusSeeds(f *testing.F) {
	if _, err := os.Stat(corpusDir); err == nil {
		keys, lines := corpusLines(f)
		for _, k := range keys {
			f.Add(lines[k])
		}
	}
	for _, name := range []string{"testdata/session_start.json", "testdata/signin_high.json"} {
		b, err := os.ReadFile(name)
		require.NoError(f, err)
		f.Add(b)
	}
	for _, s := range []string{
		`{}`, `[]`, `null`, `"x"`, `{"actor":5}`, `{"debugContext":{"debugData":"x"}}`,
		`{"eventType":"a","eventtype":"b","target":[{"type":"User","id":"1"}],"target":[{}]}`,
		`{"ſeverity":"x","\u212Aey":1}`, "{\"a\":\"\xff\"}", `{"a":[[[[{"b":[]}]]]]}`,
		`{"published":1671045392015,"securityContext":{"risk":{"level":"HIGH","reasons":["a",1]}}}`,
	} {
		f.Add([]byte(s))
	}
}

// FuzzDecode: Decode never panics; it returns a *DecodeError or an Event
// whose Raw equals the input, and it agrees with the encoding/json reference
// (decodeStd) on every input encoding/json accepts.
func FuzzDecode(f *testing.F) {
	addCorpusSeeds(f)
	f.Fuzz(func(t *testing.T, raw []byte) {
		e, err := Decode(raw, testNow)
		std, stdOK := decodeStd(raw, testNow)
		if err != nil {
			var de *DecodeError
			require.True(t, errors.As(err, &de))
			require.Contains(t, []string{DecodeInvalidJSON, DecodeNotObject}, de.Reason)
			require.False(t, stdOK, "encoding/json accepts what Decode rejects: %v", err)
			return
		}
		require.Equal(t, string(raw), string(e.Raw))
		require.Contains(t, []string{"", LevelLow, LevelMedium, LevelHigh}, e.RiskLevel)
		require.NotEmpty(t, e.ID)
		require.False(t, e.Published.IsZero())
		if !stdOK {
			// Only nesting beyond encoding/json's 10000 levels may differ.
			require.Greater(t, strings.Count(string(raw), "[")+strings.Count(string(raw), "{"), 10000,
				"Decode accepts what encoding/json rejects")
			return
		}
		require.Equal(t, std, e)
	})
}

// FuzzParseRiskString: never panics, the levels are normalised, and every
// field is a substring of the input (or built from it, for JSON input).
func FuzzParseRiskString(f *testing.F) {
	for _, s := range []string{
		"{level=LOW}",
		"{reasons=Anomalous Location, Anomalous Device, level=HIGH}",
		"{previousLevel=LOW, level=MEDIUM, detectionName=Session Influenced User Risk, reasons=Associated sessionId is suspected to be hijacked, issuer=OKTA}",
		"{reasons=a=b, foo=bar, level=high,}", `{"level":"HIGH","reasons":["x"]}`, "", "{", "}", ", level=", "level",
	} {
		f.Add(s)
	}
	allowed := []string{"", LevelLow, LevelMedium, LevelHigh}
	f.Fuzz(func(t *testing.T, s string) {
		r := ParseRiskString(s)
		require.Contains(t, allowed, r.Level)
		require.Contains(t, allowed, r.PreviousLevel)
		if !looksLikeJSONObject(strings.TrimSpace(s)) && utf8.ValidString(s) {
			for _, v := range []string{r.Reasons, r.DetectionName, r.Issuer} {
				require.True(t, strings.Contains(s, v), "%q not in input", v)
			}
		}
		if r.Level != "" {
			require.Contains(t, strings.ToUpper(s), r.Level)
		}
	})
}
