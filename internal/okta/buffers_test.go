package okta

import (
	"context"
	"net/http"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/require"
)

const bufPage = `[{"uuid":"a","eventType":"user.session.start"},{"uuid":"b"}]`

func eventually(t *testing.T, cond func() bool, msgAndArgs ...any) {
	t.Helper()
	require.Eventually(t, cond, 30*time.Second, time.Millisecond, msgAndArgs...)
}

func bufferedClient(t *testing.T, f *fakeOkta, b *Buffers) *Client {
	return newTestClient(t, f, func(s *Settings) { s.Buffers = b })
}

// At most n page bodies exist at once across clients; a page's buffer is
// reused by the next page once Released.
func TestBuffersBoundPagesInFlight(t *testing.T) {
	f := newFakeOkta(t, "")
	f.logs = func(w http.ResponseWriter, r *http.Request, _ int) {
		writePage(w, bufPage, "<"+f.logsURL()+`?after=n>; rel="next"`)
	}
	b := NewBuffers(1)
	c1, c2 := bufferedClient(t, f, b), bufferedClient(t, f, b)

	p1, err := c1.Fetch(t.Context(), c1.PollURL(f.clock.Now(), 10))
	require.NoError(t, err)
	require.Equal(t, bufPage, string(p1.Body))
	require.Len(t, p1.Events, 2)
	require.Equal(t, 1, b.InUse())
	first := unsafe.SliceData(p1.Body)

	type result struct {
		p   *Page
		err error
	}
	done := make(chan result, 1)
	go func() {
		p, err := c2.Fetch(context.Background(), c2.PollURL(f.clock.Now(), 10))
		done <- result{p, err}
	}()
	eventually(t, func() bool { return f.count("logs") == 2 }, "the second client's request was answered")
	select {
	case r := <-done:
		t.Fatalf("the second page was read while the only buffer was lent out: %+v", r)
	case <-time.After(200 * time.Millisecond):
	}

	p1.Release()
	require.Nil(t, p1.Body)
	require.Nil(t, p1.Events)
	p1.Release() // idempotent
	r := <-done
	require.NoError(t, r.err)
	require.Equal(t, bufPage, string(r.p.Body))
	require.Equal(t, first, unsafe.SliceData(r.p.Body), "the second page reuses the first one's buffer")
	require.Equal(t, 1, b.InUse())
	r.p.Release()
	require.Zero(t, b.InUse())
}

// Every way a fetch can end gives its buffer back, except a page, which
// holds it until Released.
func TestBuffersGivenBackOnEveryPath(t *testing.T) {
	tests := []struct {
		name     string
		logs     func(f *fakeOkta, w http.ResponseWriter, r *http.Request, hit int)
		wantErr  bool
		wantPage string
	}{
		{
			name: "5xx until retries run out",
			logs: func(f *fakeOkta, w http.ResponseWriter, r *http.Request, _ int) {
				oktaError(w, http.StatusInternalServerError, "E0000009", "Internal Server Error")
			},
			wantErr: true,
		},
		{
			name: "body cut short, then a page",
			logs: func(f *fakeOkta, w http.ResponseWriter, r *http.Request, hit int) {
				if hit == 1 {
					hijackRaw(t, w, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n[{\"uuid\":\"a\"}")
					return
				}
				writePage(w, bufPage, "<"+f.logsURL()+`?after=n>; rel="next"`)
			},
			wantPage: bufPage,
		},
		{
			name: "a next link to another host",
			logs: func(f *fakeOkta, w http.ResponseWriter, r *http.Request, _ int) {
				writePage(w, bufPage, `<https://evil.example.com/api/v1/logs?after=n>; rel="next"`)
			},
			wantErr: true,
		},
		{
			name: "an invalid body is a page",
			logs: func(f *fakeOkta, w http.ResponseWriter, r *http.Request, _ int) {
				writePage(w, `[{"uuid":`, "<"+f.logsURL()+`?after=n>; rel="next"`)
			},
			wantPage: `[{"uuid":`,
		},
		{
			name: "401",
			logs: func(f *fakeOkta, w http.ResponseWriter, r *http.Request, _ int) {
				oktaError(w, http.StatusUnauthorized, "E0000011", "Invalid token provided")
			},
			wantErr: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeOkta(t, "")
			f.logs = func(w http.ResponseWriter, r *http.Request, hit int) { tt.logs(f, w, r, hit) }
			b := NewBuffers(2)
			c := bufferedClient(t, f, b)
			p, err := c.Fetch(t.Context(), c.PollURL(f.clock.Now(), 10))
			if tt.wantErr {
				require.Error(t, err)
				require.Zero(t, b.InUse())
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.wantPage, string(p.Body))
			require.Equal(t, 1, b.InUse())
			p.Release()
			require.Zero(t, b.InUse())
		})
	}
}

// A fetch waiting for a buffer ends with its context.
func TestBuffersWaitEndsWithContext(t *testing.T) {
	f := newFakeOkta(t, "")
	f.logs = func(w http.ResponseWriter, r *http.Request, _ int) {
		writePage(w, bufPage, "<"+f.logsURL()+`?after=n>; rel="next"`)
	}
	b := NewBuffers(1)
	c := bufferedClient(t, f, b)
	held, err := c.Fetch(t.Context(), c.PollURL(f.clock.Now(), 10))
	require.NoError(t, err)

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		_, err := c.Fetch(ctx, c.PollURL(f.clock.Now(), 10))
		done <- err
	}()
	eventually(t, func() bool { return f.count("logs") == 2 })
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
	require.Equal(t, 1, b.InUse(), "only the held page's buffer is lent out")
	held.Release()
	require.Zero(t, b.InUse())
}

// A buffer that grew beyond keepBytes for one huge page is not kept.
func TestBuffersDropHugeBuffers(t *testing.T) {
	b := NewBuffers(1)
	_, err := b.get(t.Context())
	require.NoError(t, err)
	b.put(make([]byte, 0, keepBytes+1))
	buf, err := b.get(t.Context())
	require.NoError(t, err)
	require.Zero(t, cap(buf))
	b.put(append(buf, "x"...))
	buf, err = b.get(t.Context())
	require.NoError(t, err)
	require.Positive(t, cap(buf), "a normal buffer is kept")
	require.Empty(t, buf)
}
