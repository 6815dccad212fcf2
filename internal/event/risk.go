package event

import (
	"encoding/json"
	"strings"
)

// Risk is one risk assessment as Okta writes it in debugData.risk,
// debugData.logOnlySecurityData or securityContext.risk.
type Risk struct {
	// Level and PreviousLevel are LOW, MEDIUM or HIGH (upper case), or ""
	// when absent or not one of those.
	Level         string
	PreviousLevel string
	// Reasons is the reasons text as Okta wrote it; it may contain commas
	// ("Anomalous Location, Anomalous Device"). A JSON array of reasons is
	// joined with ", ".
	Reasons       string
	DetectionName string
	Issuer        string
}

// IsZero reports whether r carries nothing at all.
func (r Risk) IsZero() bool { return r == Risk{} }

// The normalised risk levels.
const (
	LevelLow    = "LOW"
	LevelMedium = "MEDIUM"
	LevelHigh   = "HIGH"
)

// LevelRank orders risk levels: "" (unknown) < LOW < MEDIUM < HIGH.
func LevelRank(level string) int {
	switch level {
	case LevelLow:
		return 1
	case LevelMedium:
		return 2
	case LevelHigh:
		return 3
	}
	return 0
}

// normLevel maps a level written in any case (surrounding blanks allowed)
// to LOW, MEDIUM or HIGH, and anything else to "". It does not allocate.
func normLevel(s string) string {
	s = strings.TrimSpace(s)
	switch {
	case strings.EqualFold(s, LevelLow):
		return LevelLow
	case strings.EqualFold(s, LevelMedium):
		return LevelMedium
	case strings.EqualFold(s, LevelHigh):
		return LevelHigh
	}
	return ""
}

// ParseRiskString parses debugContext.debugData.risk, which Okta renders
// like a Java map rather than JSON:
//
//	{reasons=Anomalous Location, Anomalous Device, level=HIGH}
//	{previousLevel=LOW, level=MEDIUM, detectionName=Session Influenced User Risk, reasons=..., issuer=OKTA}
//	{level=LOW}
//
// Key order varies and values (reasons above all) contain ", ", so the
// string is split only where a comma, optional blanks and a key of ASCII
// letters followed by "=" start the next entry: "Anomalous Location,
// Anomalous Device" stays one value, "a=b" inside a value stays too. Keys
// are matched case-insensitively; unknown keys are skipped; when a key
// repeats, the first occurrence wins; values are trimmed (and a trailing
// comma dropped from the last one). The braces are optional. A string that
// looks like a JSON object ({"level":"HIGH",...}) is parsed as JSON.
// ParseRiskString never fails: what it cannot read stays empty.
func ParseRiskString(s string) Risk {
	s = strings.TrimSpace(s)
	if looksLikeJSONObject(s) {
		if r, ok := parseRiskJSON([]byte(s)); ok {
			return r
		}
	}
	s = strings.TrimPrefix(s, "{")
	s = strings.TrimSuffix(s, "}")
	s = strings.TrimSpace(s)

	var r Risk
	var seen uint8 // bit set of keys already assigned
	// Walk entries: each starts at a key (at 0 or after a separator comma)
	// and its value runs up to the next separator comma.
	start := 0
	if keyLen(s, 0) == 0 {
		_, start = nextEntry(s, 0) // skip text before the first key
	}
	for start >= 0 && start < len(s) {
		kl := keyLen(s, start)
		key := s[start : start+kl]
		valStart := start + kl + 1
		comma, next := nextEntry(s, valStart)
		val := ""
		if comma >= 0 {
			val = strings.TrimSpace(s[valStart:comma])
		} else { // the last value: a trailing comma is not part of it
			val = strings.TrimRight(s[valStart:], ", \t")
			val = strings.TrimSpace(val)
		}
		r.set(key, val, &seen)
		start = next
	}
	return r
}

// looksLikeJSONObject reports whether s starts like {"key".
func looksLikeJSONObject(s string) bool {
	if !strings.HasPrefix(s, "{") {
		return false
	}
	s = strings.TrimLeft(s[1:], " \t\r\n")
	return strings.HasPrefix(s, `"`)
}

// set assigns a known key's value unless the key was seen before.
func (r *Risk) set(key, val string, seen *uint8) {
	var bit uint8
	var dst *string
	switch {
	case strings.EqualFold(key, "level"):
		bit, dst, val = 1, &r.Level, normLevel(val)
	case strings.EqualFold(key, "previousLevel"):
		bit, dst, val = 2, &r.PreviousLevel, normLevel(val)
	case strings.EqualFold(key, "reasons"):
		bit, dst = 4, &r.Reasons
	case strings.EqualFold(key, "detectionName"):
		bit, dst = 8, &r.DetectionName
	case strings.EqualFold(key, "issuer"):
		bit, dst = 16, &r.Issuer
	default:
		return
	}
	if *seen&bit != 0 {
		return
	}
	*seen |= bit
	*dst = val
}

// keyLen returns n > 0 when s[i:] starts with n ASCII letters followed by
// '=', else 0.
func keyLen(s string, i int) int {
	n := 0
	for i+n < len(s) && isLetter(s[i+n]) {
		n++
	}
	if n > 0 && i+n < len(s) && s[i+n] == '=' {
		return n
	}
	return 0
}

// nextEntry finds the first comma at or after i that is followed by optional
// blanks and a key. It returns the comma's index and the key's start, or
// (-1, -1) when the value runs to the end of s.
func nextEntry(s string, i int) (comma, key int) {
	for ; i < len(s); i++ {
		if s[i] != ',' {
			continue
		}
		k := i + 1
		for k < len(s) && (s[k] == ' ' || s[k] == '\t') {
			k++
		}
		if keyLen(s, k) > 0 {
			return i, k
		}
	}
	return -1, -1
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// wireRisk is the JSON shape of securityContext.risk and of the risk object
// inside logOnlySecurityData. Every field is optional and may have another
// type; Reasons is a string or an array of strings.
type wireRisk struct {
	Level         string          `json:"level"`
	PreviousLevel string          `json:"previousLevel"`
	Reasons       json.RawMessage `json:"reasons"`
	DetectionName string          `json:"detectionName"`
	Issuer        string          `json:"issuer"`
}

// parseRiskJSON parses a risk JSON object, tolerating wrong-typed fields.
// ok is false when b is not a JSON object.
func parseRiskJSON(b []byte) (Risk, bool) {
	var w wireRisk
	if !isObject(b) || !ignoreTypeErrors(json.Unmarshal(b, &w)) {
		return Risk{}, false
	}
	return Risk{
		Level:         normLevel(w.Level),
		PreviousLevel: normLevel(w.PreviousLevel),
		Reasons:       parseReasons(w.Reasons),
		DetectionName: w.DetectionName,
		Issuer:        w.Issuer,
	}, true
}

// parseReasons reads a reasons value: a string, or an array whose string
// elements are joined with ", ".
func parseReasons(b json.RawMessage) string {
	b = trimSpace(b)
	if len(b) == 0 {
		return ""
	}
	switch b[0] {
	case '"':
		s, _ := unquote(b)
		return s
	case '[':
		var list []json.RawMessage
		if json.Unmarshal(b, &list) != nil {
			return ""
		}
		parts := make([]string, 0, len(list))
		for _, el := range list {
			if s, ok := unquote(el); ok && s != "" {
				parts = append(parts, s)
			}
		}
		return strings.Join(parts, ", ")
	}
	return ""
}

// parseRiskValue reads a risk given either as a Java-map-like or JSON string,
// or as a JSON object. Other JSON types give a zero Risk.
func parseRiskValue(b json.RawMessage) Risk {
	b = trimSpace(b)
	if len(b) == 0 {
		return Risk{}
	}
	switch b[0] {
	case '"':
		s, _ := unquote(b)
		return ParseRiskString(s)
	case '{':
		r, _ := parseRiskJSON(b)
		return r
	}
	return Risk{}
}

// parseLogOnlySecurityData reads debugData.logOnlySecurityData: a JSON
// string holding {"risk":{...},"behaviors":{...}}, or (in some third-party
// fixtures) that object itself.
func parseLogOnlySecurityData(b json.RawMessage) Risk {
	b = trimSpace(b)
	if len(b) == 0 {
		return Risk{}
	}
	if s, ok := unquote(b); ok {
		b = trimSpace([]byte(s))
	}
	if !isObject(b) {
		return Risk{}
	}
	var w struct {
		Risk json.RawMessage `json:"risk"`
	}
	if !ignoreTypeErrors(json.Unmarshal(b, &w)) {
		return Risk{}
	}
	return parseRiskValue(w.Risk)
}

// pickRisk returns the highest-level risk of the candidates, which are in
// tie-break order; on equal levels the first present one wins.
func pickRisk(cands [3]Risk, srcs [3]RiskSource) (Risk, RiskSource) {
	best, src := Risk{}, RiskSourceNone
	for i, c := range cands {
		if c.IsZero() {
			continue
		}
		if src == RiskSourceNone || LevelRank(c.Level) > LevelRank(best.Level) {
			best, src = c, srcs[i]
		}
	}
	return best, src
}
