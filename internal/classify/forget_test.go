package classify

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A forgotten user no longer owns a transaction: a later threat event of
// it stays org-level instead of being attributed to them.
func TestForget(t *testing.T) {
	c := New(nil)
	c.Page(raws(signIn("s1", "u1", "tx1", 0), signIn("s2", "u2", "tx2", 0)), testNow)
	require.Equal(t, 2, c.att.len())
	require.Equal(t, 1, c.Forget(func(id, login string) bool { return login == "u1@example.com" }))
	require.Equal(t, 1, c.att.len())
	require.Zero(t, c.Forget(func(id, login string) bool { return id == "u1" }))

	res := c.Page(raws(threat("t1", "tx1", time.Minute), threat("t2", "tx2", time.Minute)), testNow)
	users := map[string]string{}
	for _, e := range res.Kept {
		users[e.ID] = e.UserID
	}
	require.Equal(t, map[string]string{"t1": "", "t2": "u2"}, users)
}
