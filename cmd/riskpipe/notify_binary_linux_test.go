package main

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/mail"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/chserver"
	"github.com/riskpipe/riskpipe/internal/oktasim/scenario"
	"github.com/riskpipe/riskpipe/internal/simtest"
)

// countingSink is a real SMTP server on loopback that counts the messages
// it receives per Message-ID and recipient.
type countingSink struct {
	mu   sync.Mutex
	byID map[string]int
	subj map[string]string
}

func (c *countingSink) NewSession(*smtp.Conn) (smtp.Session, error) { return &countSession{c: c}, nil }

type countSession struct {
	c  *countingSink
	to []string
}

func (s *countSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *countSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}
func (s *countSession) Data(r io.Reader) error {
	m, err := mail.ReadMessage(r)
	if err != nil {
		return err
	}
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	for _, to := range s.to {
		k := to + " " + m.Header.Get("Message-Id")
		s.c.byID[k]++
		s.c.subj[k] = m.Header.Get("Subject")
	}
	return nil
}
func (s *countSession) Reset()        { s.to = nil }
func (s *countSession) Logout() error { return nil }

func (c *countingSink) totals() (messages, distinct, repeats int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, n := range c.byID {
		messages += n
		distinct++
		repeats += n - 1
	}
	return
}

// testNotifyKill9: riskpipe works through a backlog full of ThreatInsight
// attacks, leaked credentials and critical users while it is killed with
// SIGKILL at random moments and restarted. Every attack start is notified
// (nothing lost), each message reaches its recipient once, except that a
// kill between a send and the write of its outcome may repeat that one
// message (same Message-ID): at most one repeat per kill.
func testNotifyKill9(t *testing.T, bin string, srv *chserver.Server) {
	const rounds = 4
	seed := envInt(t, "RISKPIPE_KILL_SEED", time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(uint64(seed), 13))
	t.Logf("seed %d (RISKPIPE_KILL_SEED repeats the kill times)", seed)

	sink := &countingSink{byID: map[string]int{}, subj: map[string]string{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ss := smtp.NewServer(sink)
	ss.Domain = "localhost"
	done := make(chan struct{})
	go func() { defer close(done); _ = ss.Serve(ln) }()
	t.Cleanup(func() { ss.Close(); ln.Close(); <-done })

	pt := newPipelineTest(t, bin, srv, scenario.ScenarioDemo, 100)
	host, port, _ := net.SplitHostPort(ln.Addr().String())
	f, err := os.OpenFile(pt.cfg, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = fmt.Fprintf(f, `notify:
  smtp: {host: %s, port: %s, from: riskpipe@test.example, tls: none}
  max_per_hour: 100000
  group_interval: 2s
contacts:
  primary_security: [{name: SOC, email: soc@test.example}]
  cio_ciso: [{name: CISO, email: ciso@test.example}]
`, host, port)
	require.NoError(t, err)
	require.NoError(t, f.Close())

	kills := 0
	for r := 1; r <= rounds; r++ {
		p := pt.start(fmt.Sprintf("notify-run-%02d.log", r))
		if r == 1 {
			pt.waitIntegrated(p)
			pt.fl.addBacklog(40_000) // 8 demo cycles per org: 8 attacks, 32 leaked credentials, critical users
		}
		time.Sleep(300*time.Millisecond + time.Duration(rng.Int64N(int64(2500*time.Millisecond))))
		require.False(t, p.Exited(), "round %d: riskpipe exited before the kill:\n%s", r, p.Tail(40))
		p.Signal(syscall.SIGKILL)
		_, sig := p.Wait(time.Minute)
		require.Equal(t, syscall.SIGKILL, sig)
		kills++
		m, _, _ := sink.totals()
		t.Logf("round %d: killed; %d messages received so far", r, m)
	}
	pt.catchUp("notify-final.log")

	// A last run delivers whatever is still pending, then stops.
	p := pt.start("notify-settle.log")
	db := "`" + pt.st.Database() + "`"
	simtest.WaitFor(t, 3*time.Minute, "every notification delivered", func() (bool, string) {
		if p.Exited() {
			t.Fatalf("riskpipe exited:\n%s", p.Tail(40))
		}
		var pending, starts, notified uint64
		require.NoError(t, pt.st.Conn().QueryRow(t.Context(), "SELECT count() FROM "+db+".notifications FINAL WHERE status = 'pending'").Scan(&pending))
		require.NoError(t, pt.st.Conn().QueryRow(t.Context(), "SELECT count() FROM "+db+".risk_events FINAL WHERE event_type = 'security.attack.start'").Scan(&starts))
		require.NoError(t, pt.st.Conn().QueryRow(t.Context(), "SELECT count() FROM "+db+".notifications FINAL WHERE kind = 'attack_started' AND recipient = 'soc@test.example' AND status = 'sent'").Scan(&notified))
		return pending == 0 && starts > 0 && notified == starts, fmt.Sprintf("%d pending; %d attack starts, %d notified", pending, starts, notified)
	})
	// Everything may have been delivered before this run: SIGTERM only
	// once it is running (before its handler, SIGTERM just kills it).
	p.WaitRunning(time.Minute)
	p.Signal(syscall.SIGTERM)
	code, _ := p.Wait(time.Minute)
	require.Equal(t, 0, code, p.Tail(40))

	messages, distinct, repeats := sink.totals()
	var sent, keys uint64
	require.NoError(t, pt.st.Conn().QueryRow(t.Context(), "SELECT count(), uniqExact(dedup_key, recipient) FROM "+db+".notifications FINAL WHERE status = 'sent' AND channel = 'email'").Scan(&sent, &keys))
	t.Logf("%d kills: %d messages received, %d distinct, %d repeated; %d sent rows", kills, messages, distinct, repeats, sent)
	require.Equal(t, sent, keys, "one row per finding and recipient")
	require.EqualValues(t, sent, distinct, "every sent row arrived, under its own Message-ID")
	require.LessOrEqual(t, repeats, kills, "at most one repeated message per kill")
	var incidents uint64
	require.NoError(t, pt.st.Conn().QueryRow(t.Context(), "SELECT count() FROM "+db+".notifications FINAL WHERE kind = 'critical_incident' AND recipient = 'ciso@test.example'").Scan(&incidents))
	require.Positive(t, incidents, "the CISO heard of the critical incidents")
}
