package classify

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// FuzzClassify feeds newline-separated events as two pages to a classifier
// with tiny attribution bounds: it never panics, every input is kept,
// dropped or dead-lettered exactly once, and what it returns comes from the
// input.
func FuzzClassify(f *testing.F) {
	if _, err := os.Stat(corpusDir); err == nil {
		for _, file := range readCorpus(f) {
			f.Add(joinLines(file.lines))
			for _, l := range file.lines {
				f.Add([]byte(l))
			}
		}
	}
	scenario := raws(threat("t1", "tx1", 0), signIn("s1", "u1", "tx2", 0), threat("t2", "tx2", time.Minute),
		signIn("s2", "u2", "tx1", time.Minute), ev{uuid: "a", typ: TypeAttackStart, tx: "tx1"},
		ev{typ: "user.session.start", risk: "{level=HIGH}", actorType: "User", actorID: "u3", tx: "tx3"})
	f.Add(joinLines(scenario))
	f.Add([]byte("[1]\n{\"eventType\":\n\n{}"))

	f.Fuzz(func(t *testing.T, data []byte) {
		var in []json.RawMessage
		for _, l := range bytes.Split(data, []byte("\n")) {
			in = append(in, json.RawMessage(l))
		}
		c := New([]string{"user.account.lock"}, WithMaxTransactions(3), WithMaxPendingBytes(2000), WithAttributionWindow(time.Minute))
		half := len(in) / 2
		inputs := map[string]bool{}
		for _, l := range in {
			inputs[string(l)] = true
		}
		for _, page := range [][]json.RawMessage{in[:half], in[half:]} {
			res := c.Page(page, testNow)
			requireBalanced(t, len(page), res)
			for _, e := range append(res.Kept, res.Updated...) {
				require.True(t, inputs[string(e.Raw)], "kept event not from the input")
			}
			for _, dl := range res.DeadLetters {
				require.True(t, inputs[string(dl.Payload)])
			}
			require.LessOrEqual(t, c.att.len(), 3)
			require.GreaterOrEqual(t, c.att.pendingBytes, 0)
		}
	})
}

func joinLines(lines []json.RawMessage) []byte {
	var b bytes.Buffer
	for i, l := range lines {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.Write(l)
	}
	return b.Bytes()
}
