package classify

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

// Page decodes without copying each event and copies Raw only for the
// events it keeps: what it returns must not alias the page it was given,
// which the poller's HTTP client may reuse or the GC reclaim.
func TestPageKeptRawDoesNotAliasThePage(t *testing.T) {
	in := raws(
		signIn("u1", "00u1", "tx1", 0),
		ev{uuid: "r1", typ: "user.risk.change", targetUser: "00u2", risk: "{level=HIGH}"},
		ev{uuid: "bad"},
	)
	in = append(in, json.RawMessage(`{"uuid":`)) // dead-lettered
	orig := make([][]byte, len(in))
	for i, r := range in {
		orig[i] = bytes.Clone(r)
	}
	res := New(nil).Page(in, testNow)
	require.Len(t, res.Kept, 1)
	require.Len(t, res.DeadLetters, 1)
	for _, r := range in {
		for i := range r {
			r[i] = 'X' // the page's memory is reused
		}
	}
	require.JSONEq(t, string(orig[1]), string(res.Kept[0].Raw))
	require.Equal(t, string(orig[3]), string(res.DeadLetters[0].Payload))
	require.Equal(t, "r1", res.Kept[0].ID)
}
