package event

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParsePublished(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600))
	utc := func(s string) time.Time {
		tt, err := time.Parse(time.RFC3339Nano, s)
		require.NoError(t, err)
		return tt.UTC()
	}
	tests := []struct {
		name     string
		give     string // raw JSON value; "" means absent
		want     time.Time
		wantNote string
	}{
		{"rfc3339 millis", `"2024-08-13T15:58:20.353Z"`, utc("2024-08-13T15:58:20.353Z"), ""},
		{"rfc3339 no fraction", `"2024-08-13T15:58:20Z"`, utc("2024-08-13T15:58:20Z"), ""},
		{"rfc3339 two digit fraction", `"2023-01-30T14:18:01.55Z"`, utc("2023-01-30T14:18:01.55Z"), ""},
		{"rfc3339 offset to utc", `"2024-08-13T17:58:20.353+02:00"`, utc("2024-08-13T15:58:20.353Z"), ""},
		{"rfc3339 lower case t z", `"2024-08-13t15:58:20.353z"`, utc("2024-08-13T15:58:20.353Z"), ""},
		{"offset without colon", `"2024-08-13T15:58:20.353+0000"`, utc("2024-08-13T15:58:20.353Z"), ""},
		{"panther space millis", `"2022-12-14 19:16:32.015"`, utc("2022-12-14T19:16:32.015Z"), ""},
		{"panther space nanos", `"2022-12-14 19:16:32.015123456"`, utc("2022-12-14T19:16:32.015123456Z"), ""},
		{"panther space micros", `"2022-12-14 19:16:32.015123"`, utc("2022-12-14T19:16:32.015123Z"), ""},
		{"space no fraction", `"2022-12-14 19:16:32"`, utc("2022-12-14T19:16:32Z"), ""},
		{"space with Z", `"2022-12-14 19:16:32.015Z"`, utc("2022-12-14T19:16:32.015Z"), ""},
		{"T without zone", `"2023-01-01T00:00:00"`, utc("2023-01-01T00:00:00Z"), ""},
		{"T without zone fraction", `"2023-01-01T00:00:00.5"`, utc("2023-01-01T00:00:00.5Z"), ""},
		{"surrounding blanks", `" 2023-01-01T00:00:00Z "`, utc("2023-01-01T00:00:00Z"), ""},
		{"epoch seconds", `1671045392`, utc("2022-12-14T19:16:32Z"), ""},
		{"epoch millis", `1671045392015`, utc("2022-12-14T19:16:32.015Z"), ""},
		{"epoch micros", `1671045392015123`, utc("2022-12-14T19:16:32.015123Z"), ""},
		{"epoch nanos", `1671045392015123456`, utc("2022-12-14T19:16:32.015123456Z"), ""},
		{"epoch float seconds", `1671045392.5`, utc("2022-12-14T19:16:32.5Z"), ""},
		{"epoch millis string", `"1671045392015"`, utc("2022-12-14T19:16:32.015Z"), ""},
		{"missing", ``, now.UTC(), "published missing"},
		{"null", `null`, now.UTC(), "published missing"},
		{"redacted", `"redacted"`, now.UTC(), `published "redacted" unparseable`},
		{"empty string", `""`, now.UTC(), `published "" unparseable`},
		{"impossible date", `"2017-09-31T22:23:07.777Z"`, now.UTC(), `published "2017-09-31T22:23:07.777Z" unparseable`},
		{"object", `{"a":1}`, now.UTC(), `published {"a":1} unparseable`},
		{"bool", `true`, now.UTC(), `published true unparseable`},
		{"before 1970", `"1969-12-31T23:59:59Z"`, now.UTC(), `published "1969-12-31T23:59:59Z" out of range`},
		{"after 2106", `"2106-02-08T00:00:00Z"`, now.UTC(), `published "2106-02-08T00:00:00Z" out of range`},
		{"negative epoch", `-5`, now.UTC(), `published -5 out of range`},
		{"huge epoch", `1e400`, now.UTC(), `published 1e400 unparseable`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, note := parsePublished(json.RawMessage(tt.give), now)
			require.Equal(t, tt.wantNote, note)
			require.True(t, tt.want.Equal(got), "got %s want %s", got, tt.want)
			require.Equal(t, time.UTC, got.Location())
		})
	}
}

func TestParsePublishedNoteIsShort(t *testing.T) {
	long := `"x` + string(repeat('y', 10000)) + `"`
	_, note := parsePublished(json.RawMessage(long), time.Now())
	require.Less(t, len(note), 120)
}

func repeat(c byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = c
	}
	return b
}
