package event

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Published notes. A note is empty when `published` was read.
const (
	notePublishedMissing = "published missing"
)

// publishedLayouts are tried in order. Go accepts a fractional second after
// the seconds field even when the layout has none, so each layout covers the
// forms with and without a fraction of any length. Layouts without a zone
// read the time as UTC.
var publishedLayouts = [...]string{
	time.RFC3339,                // 2024-08-13T15:58:20.353Z, ...+02:00
	"2006-01-02 15:04:05Z07:00", // 2022-12-14 19:16:32.015Z
	"2006-01-02T15:04:05",       // 2023-01-01T00:00:00
	"2006-01-02 15:04:05",       // 2022-12-14 19:16:32.015 (Panther fixtures)
	"2006-01-02T15:04:05Z0700",  // 2024-08-13T15:58:20.353+0000
	"2006-01-02 15:04:05Z0700",
	"2006-01-02 15:04:05 Z07:00",
}

// The range of times riskpipe accepts: ClickHouse DateTime holds
// 1970-01-01 .. 2106-02-07, and anything outside is a broken value anyway.
var (
	minPublished = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	maxPublished = time.Date(2106, 1, 1, 0, 0, 0, 0, time.UTC)
)

// parsePublished reads the raw `published` value: an RFC 3339 string (with
// or without fraction), the non-ISO forms third-party fixtures use
// ("2022-12-14 19:16:32.015", "2023-01-01T00:00:00"), or a Unix epoch as a
// JSON number or a string of digits (seconds, milliseconds, microseconds or
// nanoseconds, told apart by magnitude). It returns the time in UTC and an
// empty note, or now (UTC) and a short reason.
func parsePublished(raw json.RawMessage, now time.Time) (time.Time, string) {
	raw = trimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return now.UTC(), notePublishedMissing
	}
	var t time.Time
	var ok bool
	s, isString := unquote(raw)
	switch c := raw[0]; {
	case isString:
		t, ok = parseTimestamp(s)
	case c == '-' || c >= '0' && c <= '9':
		t, ok = parseEpoch(string(raw))
	}
	if ok && !t.Before(minPublished) && t.Before(maxPublished) {
		return t.UTC(), ""
	}
	shown := truncate(string(raw), 64)
	if isString {
		shown = strconv.Quote(truncate(s, 64))
	}
	if ok {
		return now.UTC(), "published " + shown + " out of range"
	}
	return now.UTC(), "published " + shown + " unparseable"
}

// parseTimestamp parses a `published` string.
func parseTimestamp(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, false
	}
	if isEpochString(s) {
		return parseEpoch(s)
	}
	// RFC 3339 allows lower-case "t" and "z"; Go's parser does not.
	if len(s) > 10 && s[10] == 't' || s[len(s)-1] == 'z' {
		s = strings.ToUpper(s)
	}
	for _, layout := range publishedLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

func isEpochString(s string) bool {
	if s[0] == '-' {
		s = s[1:]
	}
	dot := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
		case c == '.' && !dot:
			dot = true
		default:
			return false
		}
	}
	return s != "" && s != "."
}

// parseEpoch reads a Unix epoch number. Its unit follows from its magnitude:
// below 1e11 seconds (until year 5138), below 1e14 milliseconds, below 1e17
// microseconds, else nanoseconds.
func parseEpoch(s string) (time.Time, bool) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return time.Time{}, false
	}
	var nsPerUnit float64
	switch a := math.Abs(f); {
	case a < 1e11:
		nsPerUnit = 1e9
	case a < 1e14:
		nsPerUnit = 1e6
	case a < 1e17:
		nsPerUnit = 1e3
	default:
		nsPerUnit = 1
	}
	if !strings.ContainsAny(s, ".eE") {
		// Integers: exact arithmetic, no float rounding of milliseconds.
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return time.Time{}, false
		}
		u := int64(nsPerUnit)
		return time.Unix(n/(1e9/u), n%(1e9/u)*u), true
	}
	ns := f * nsPerUnit
	if math.Abs(ns) > math.MaxInt64 {
		return time.Time{}, false
	}
	return time.Unix(0, int64(ns)), true
}

// truncate cuts s to at most n bytes without splitting a UTF-8 sequence.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
