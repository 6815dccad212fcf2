package classify

// Forget drops every remembered transaction whose user match reports true
// for (by id and login), with the threat events waiting for it, and
// returns how many transactions were dropped. Privacy deletions call it
// (internal/privacy); not safe for concurrent use with Page.
func (c *Classifier) Forget(match func(id, login string) bool) int {
	a := &c.att
	n := 0
	for s := range a.txs {
		u := a.txs[s].user
		if u == none || a.users[u].refs == 0 {
			continue
		}
		if match(a.users[u].id, a.users[u].login) {
			a.remove(int32(s))
			n++
		}
	}
	return n
}
