package score

import "strconv"

// Forget drops every user match reports true for (by user_id column and
// login) from the engine: their signals, factors and population entry, so
// that no later Refresh or page writes them again, and returns how many
// were dropped. The org's activity buckets keep their counts, with the
// user's key replaced by an opaque one. Privacy deletions call it
// (internal/privacy); like every Engine method, only from the goroutine
// that owns the engine.
func (e *Engine) Forget(match func(id, login string) bool) int {
	var keys []string
	for k, u := range e.users {
		if match(u.key, u.login) || (u.wLogin != "" && match(u.key, u.wLogin)) {
			keys = append(keys, k)
		}
	}
	for _, k := range keys {
		delete(e.users, k)
		e.forgotten++
		opaque := "\x00forgotten:" + strconv.Itoa(e.forgotten)
		for _, b := range e.act {
			if n, ok := b.users[k]; ok {
				delete(b.users, k)
				b.users[opaque] = n
			}
			for h, uk := range b.events {
				if uk == k {
					b.events[h] = opaque
				}
			}
		}
	}
	return len(keys)
}
