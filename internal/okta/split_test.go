package okta

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSplitArray(t *testing.T) {
	tests := []struct {
		name    string
		give    string
		want    []string
		wantErr string
	}{
		{name: "empty", give: "[]", want: []string{}},
		{name: "empty with blanks", give: " \n[ \t]\r\n", want: []string{}},
		{name: "objects", give: `[{"a":1},{"b":[2,{"c":"]}"}]}]`, want: []string{`{"a":1}`, `{"b":[2,{"c":"]}"}]}`}},
		{name: "blanks around elements", give: "[ {\"a\":1} ,\n\t{\"b\":2}\n]", want: []string{`{"a":1}`, `{"b":2}`}},
		{name: "escaped quotes and backslashes", give: `[{"a":"x\"],"},{"b":"\\"},{"c":"\\\"]"}]`,
			want: []string{`{"a":"x\"],"}`, `{"b":"\\"}`, `{"c":"\\\"]"}`}},
		{name: "scalars are elements", give: `[1, "s", null, true]`, want: []string{`1`, `"s"`, `null`, `true`}},
		{name: "an invalid element is only that element", give: `[{"a":1},{"b":tru},{"c":3}]`,
			want: []string{`{"a":1}`, `{"b":tru}`, `{"c":3}`}},
		{name: "deeper than encoding/json's limit", give: "[" + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `,{"a":1}]`,
			want: []string{strings.Repeat("[", 20000) + strings.Repeat("]", 20000), `{"a":1}`}},
		{name: "not an array", give: `{"errorCode":"E0000009"}`, wantErr: "not a json array"},
		{name: "empty body", give: "", wantErr: "not a json array"},
		{name: "blank body", give: "  ", wantErr: "not a json array"},
		{name: "cut off", give: `[{"uuid":"a"},{"uu`, wantErr: "unterminated string"},
		{name: "cut off after element", give: `[{"uuid":"a"}`, wantErr: "unexpected end"},
		{name: "cut off inside element", give: `[{"uuid":"a"`, wantErr: "unexpected end"},
		{name: "trailing garbage", give: `[] x`, wantErr: "data after the json array"},
		{name: "two arrays", give: `[1][2]`, wantErr: "data after the json array"},
		{name: "leading comma", give: `[,1]`, wantErr: "empty array element"},
		{name: "trailing comma", give: `[1,]`, wantErr: "empty array element"},
		{name: "stray closing brace", give: `[1}]`, wantErr: "unexpected '}'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := splitArray([]byte(tt.give))
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				require.Nil(t, got)
				return
			}
			require.NoError(t, err)
			require.NotNil(t, got)
			gotS := make([]string, len(got))
			for i, e := range got {
				gotS[i] = string(e)
			}
			require.Equal(t, tt.want, gotS)
		})
	}
}

func TestSplitArrayReturnsSubslices(t *testing.T) {
	body := []byte(`[{"a":1},{"b":2}]`)
	got, err := splitArray(body)
	require.NoError(t, err)
	require.Len(t, got, 2)
	body[3] = 'X'
	require.Equal(t, `{"X":1}`, string(got[0]), "elements alias the body (no copy per event)")
}

// FuzzSplitArray checks splitArray against encoding/json: whatever
// json.Unmarshal splits into elements, splitArray splits identically; and
// where splitArray accepts a body json.Unmarshal rejects, one of the
// elements is what is invalid (so the decoder dead-letters it), never the
// array around them.
func FuzzSplitArray(f *testing.F) {
	for _, s := range []string{
		`[]`, `[{"a":1},{"b":"x\"]"}]`, ` [1, "s", null] `, `[{"a":tru}]`, `[1,]`, `[`, `[{"a":[}]`,
		`[{"a":"\\"},{"b":"]"}]`, "[\"\u00e9\",\"\\u00e9\"]", `[[[]]]`, `[1}]`, `[1 2]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := splitArray(body)
		var want []json.RawMessage
		wantErr := json.Unmarshal(body, &want)
		if wantErr == nil && want != nil {
			require.NoError(t, err, "json.Unmarshal accepts %q", body)
			require.Equal(t, len(want), len(got))
			for i := range want {
				require.Equal(t, string(want[i]), string(got[i]))
			}
			return
		}
		if err != nil {
			return
		}
		// splitArray accepted what encoding/json rejected: the array's
		// frame must be fine, so rebuilding it from elements that are each
		// valid JSON must be valid JSON too.
		invalid := false
		for _, e := range got {
			require.NotEmpty(t, e)
			if !json.Valid(e) {
				invalid = true
			}
		}
		if !invalid {
			// Only nesting beyond encoding/json's limit is left.
			require.Greater(t, strings.Count(string(body), "["), 10000, "splitArray accepted %q, every element valid, json rejects: %v", body, wantErr)
		}
	})
}
