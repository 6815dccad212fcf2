package notify

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/chtest"
	"github.com/riskpipe/riskpipe/internal/config"
	"github.com/riskpipe/riskpipe/internal/poll"
	"github.com/riskpipe/riskpipe/internal/store"
)

func TestMain(m *testing.M) { chtest.Main(m) }

// mailbox is a real SMTP server on loopback (emersion/go-smtp) keeping
// every message it accepts. While down is set it answers 421 to MAIL.
type mailbox struct {
	addr string
	srv  *smtp.Server

	mu   sync.Mutex
	msgs []received
	down bool
}

type received struct {
	To      string
	Subject string
	Header  mail.Header
	Body    string
}

type mailBackend struct{ mb *mailbox }
type mailSession struct {
	mb *mailbox
	to []string
}

func (b mailBackend) NewSession(*smtp.Conn) (smtp.Session, error) { return &mailSession{mb: b.mb}, nil }
func (s *mailSession) Mail(string, *smtp.MailOptions) error {
	s.mb.mu.Lock()
	defer s.mb.mu.Unlock()
	if s.mb.down {
		return &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
	}
	return nil
}
func (s *mailSession) Rcpt(to string, _ *smtp.RcptOptions) error { s.to = append(s.to, to); return nil }
func (s *mailSession) Data(r io.Reader) error {
	m, err := mail.ReadMessage(r)
	if err != nil {
		return err
	}
	body := textPart(m)
	subj, _ := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	s.mb.mu.Lock()
	defer s.mb.mu.Unlock()
	for _, to := range s.to {
		s.mb.msgs = append(s.mb.msgs, received{To: to, Subject: subj, Header: m.Header, Body: string(body)})
	}
	return nil
}

// textPart returns the decoded text/plain part of a message.
func textPart(m *mail.Message) string {
	_, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil {
		return ""
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		p, err := mr.NextPart() // decodes quoted-printable
		if err != nil {
			return ""
		}
		if strings.HasPrefix(p.Header.Get("Content-Type"), "text/plain") {
			b, _ := io.ReadAll(p)
			return string(b)
		}
	}
}

func (s *mailSession) Reset()        { s.to = nil }
func (s *mailSession) Logout() error { return nil }

func newMailbox(t *testing.T) *mailbox {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	mb := &mailbox{addr: ln.Addr().String()}
	mb.srv = smtp.NewServer(mailBackend{mb: mb})
	mb.srv.Domain = "localhost"
	mb.srv.AllowInsecureAuth = true
	mb.srv.ReadTimeout, mb.srv.WriteTimeout = 10*time.Second, 10*time.Second
	done := make(chan struct{})
	go func() { defer close(done); _ = mb.srv.Serve(ln) }()
	t.Cleanup(func() { mb.srv.Close(); ln.Close(); <-done }) // Close may run before Serve registered ln
	return mb
}

func (mb *mailbox) setDown(down bool) { mb.mu.Lock(); mb.down = down; mb.mu.Unlock() }

// to returns the subjects received by addr, in order.
func (mb *mailbox) to(addr string) []string {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	var out []string
	for _, m := range mb.msgs {
		if m.To == addr {
			out = append(out, m.Subject)
		}
	}
	return out
}

func (mb *mailbox) all() []received {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	return append([]received(nil), mb.msgs...)
}

// hook is a real HTTP receiver of a json webhook that verifies every
// Standard Webhooks signature; answers holds the status codes of the next
// calls (then 200).
type hook struct {
	srv    *httptest.Server
	secret string

	mu      sync.Mutex
	answers []int
	got     []hookCall
	badSig  int
}

type hookCall struct {
	ID      string
	Status  int
	Payload map[string]any
}

func newHook(t *testing.T, secret string, answers ...int) *hook {
	h := &hook{secret: secret, answers: answers}
	wh, err := Signer(secret)
	require.NoError(t, err)
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		defer h.mu.Unlock()
		// The injected clock is not the wall clock: check the signature,
		// not the timestamp's distance from now.
		if err := wh.VerifyIgnoringTimestamp(body, r.Header); err != nil {
			h.badSig++
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		code := http.StatusOK
		if len(h.answers) > 0 {
			code, h.answers = h.answers[0], h.answers[1:]
		}
		var p map[string]any
		_ = json.Unmarshal(body, &p)
		h.got = append(h.got, hookCall{ID: r.Header.Get("webhook-id"), Status: code, Payload: p})
		w.WriteHeader(code)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hook) calls() []hookCall {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]hookCall(nil), h.got...)
}

// clock is the injected clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// env is one test's ClickHouse, SMTP server, webhook and config.
type env struct {
	t     *testing.T
	st    *store.Store
	ns    *Store
	mb    *mailbox
	hook  *hook
	clock *clock
	cfg   *config.Config
	reg   *prometheus.Registry
	yaml  string // cfg as written
}

const testSecret = "whsec_dGVzdC1zZWNyZXQtMDEyMzQ1Njc4OQ=="

// newEnv starts everything; yaml is the config's tenants and contacts
// (the notify block is filled in with the test servers).
func newEnv(t *testing.T, extra string, hookAnswers ...int) *env {
	t.Helper()
	srv := chtest.Start(t)
	db := chtest.NewDatabase(t, srv)
	ctx := context.Background()
	st, err := store.Open(ctx, chtest.Config(srv, db), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	require.NoError(t, st.Migrate(ctx))
	e := &env{t: t, st: st, ns: NewStore(st.Conn(), st.Database()), mb: newMailbox(t), hook: newHook(t, testSecret, hookAnswers...),
		clock: &clock{t: time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)}, reg: prometheus.NewRegistry()}
	host, port, _ := net.SplitHostPort(e.mb.addr)
	y := `
notify:
  smtp: {host: ` + host + `, port: ` + port + `, from: riskpipe@example.com, tls: none}
  webhooks:
    - {name: soc-json, url: "` + e.hook.srv.URL + `/hook", format: json, secret: "` + testSecret + `"}
  dashboard_url: https://riskpipe.example.com
  critical_incident: {critical_users: 3, within: 1h}
tenants:
  - name: acme
    base_url: https://acme.okta.com
    auth: {method: api_token, token: t}
    contacts:
      primary_security: [{name: Acme SecOps, email: secops@acme.example, webhook: soc-json}]
      cio_ciso: [{name: Jane Roe, email: ciso@acme.example}]
      it: [{name: Acme IT, email: it@acme.example}]
  - name: globex
    base_url: https://globex.okta.com
    auth: {method: api_token, token: t}
    contacts:
      primary_security: [{name: Globex SOC, email: soc@globex.example}]
` + extra
	cfg, err := config.Parse([]byte(y), config.MapEnv(nil))
	require.NoError(t, err)
	e.cfg, e.yaml = cfg, y
	return e
}

func (e *env) notifier(statuses ...func() []poll.Status) *Notifier {
	e.t.Helper()
	e.reg = prometheus.NewRegistry() // the newest notifier's metrics
	s := Settings{Config: e.cfg, Store: e.ns, Now: e.clock.Now, Registerer: e.reg}
	if len(statuses) > 0 {
		s.Statuses = statuses[0]
	}
	n, err := New(s)
	require.NoError(e.t, err)
	require.NoError(e.t, n.Start(context.Background()))
	return n
}

// rows returns the tenant's notification rows (FINAL), by recipient.
func (e *env) rows(tenant string) []Row {
	e.t.Helper()
	rows, err := e.ns.List(context.Background(), tenant, 1000)
	require.NoError(e.t, err)
	return rows
}
