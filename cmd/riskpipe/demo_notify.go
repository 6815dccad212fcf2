package main

import (
	"fmt"
	"io"
	"mime"
	"net"
	"net/mail"
	"strconv"
	"sync"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/riskpipe/riskpipe/internal/config"
)

// demoMailSink runs a local SMTP server on loopback (emersion/go-smtp) that
// prints every notification it receives ("to secops@acme.example:
// ThreatInsight attack on acme started"), points notify.smtp at it and gives
// every demo tenant a primary security, a CIO/CISO and an IT contact.
func demoMailSink(cfg *config.Config, stdout io.Writer) (stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("demo mail sink: %w", err)
	}
	sink := &printSink{w: stdout}
	srv := smtp.NewServer(sink)
	srv.Domain = "localhost"
	srv.ReadTimeout, srv.WriteTimeout = 30*time.Second, 30*time.Second
	srv.MaxMessageBytes = 1 << 20
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(ln) }()

	host, port, _ := net.SplitHostPort(ln.Addr().String())
	p, _ := strconv.Atoi(port)
	cfg.Notify.SMTP = config.SMTP{Host: host, Port: p, From: "riskpipe@demo.example", TLS: config.SMTPNone}
	cfg.Notify.GroupInterval = 30 * time.Second // a short demo: group critical users over 30s (default 5m)
	for i := range cfg.Tenants {
		n := cfg.Tenants[i].Name
		cfg.Tenants[i].Contacts = config.Contacts{
			PrimarySecurity: []config.Contact{{Name: n + " SecOps", Email: "secops@" + n + ".example"}},
			CIOCISO:         []config.Contact{{Name: n + " CISO", Email: "ciso@" + n + ".example"}},
			IT:              []config.Contact{{Name: n + " IT", Email: "it@" + n + ".example"}},
		}
	}
	fmt.Fprintf(stdout, "mail sink: SMTP on %s prints every notification riskpipe sends\n", ln.Addr())
	return func() { srv.Close(); ln.Close(); <-done }, nil
}

// printSink is the demo mail sink's backend.
type printSink struct {
	mu sync.Mutex
	w  io.Writer
}

func (p *printSink) NewSession(*smtp.Conn) (smtp.Session, error) { return &printSession{p: p}, nil }

type printSession struct {
	p  *printSink
	to []string
}

func (s *printSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *printSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}
func (s *printSession) Data(r io.Reader) error {
	m, err := mail.ReadMessage(r)
	if err != nil {
		return err
	}
	subj, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	if err != nil {
		subj = m.Header.Get("Subject")
	}
	s.p.mu.Lock()
	defer s.p.mu.Unlock()
	for _, to := range s.to {
		fmt.Fprintf(s.p.w, "to %s: %s\n", to, subj)
	}
	return nil
}
func (s *printSession) Reset()        { s.to = nil }
func (s *printSession) Logout() error { return nil }
