package okta

import (
	"context"
	"fmt"
)

// Buffers lends page body buffers to the clients of all tenants, so that
// the memory of pages in flight is bounded for the whole process whatever
// the number of orgs: at most n bodies exist at once, each reused page after
// page instead of allocated per page. A client takes a buffer once a
// response's headers have arrived (never while it waits for Okta or for
// its rate limit) and the page gives it back with Page.Release.
type Buffers struct {
	free chan []byte
}

// keepBytes is the largest buffer kept for reuse: one page of 1000 events
// is a few MB; a pathological bigger one is dropped after use.
const keepBytes = 16 << 20

// NewBuffers returns n buffers (n < 1 means 1), allocated on first use.
func NewBuffers(n int) *Buffers {
	b := &Buffers{free: make(chan []byte, max(n, 1))}
	for range cap(b.free) {
		b.free <- nil
	}
	return b
}

// get waits for a free buffer (its length 0) or ctx's end.
func (b *Buffers) get(ctx context.Context) ([]byte, error) {
	select {
	case buf := <-b.free:
		return buf[:0], nil
	default:
	}
	select {
	case buf := <-b.free:
		return buf[:0], nil
	case <-ctx.Done():
		return nil, fmt.Errorf("wait for a page buffer: %w", ctx.Err())
	}
}

// put gives buf back; buf may have grown since get.
func (b *Buffers) put(buf []byte) {
	if cap(buf) > keepBytes {
		buf = nil
	}
	b.free <- buf
}

// InUse reports how many buffers are lent out.
func (b *Buffers) InUse() int { return cap(b.free) - len(b.free) }
