package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/wneessen/go-mail"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/riskpipe/riskpipe/internal/config"
)

// PermanentError is a delivery failure that retrying cannot fix (a 4xx
// answer of a webhook, a 5xx reply of the SMTP server to the recipient).
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// deliverer sends one message to one recipient. id is the notification id
// plus recipient: the Message-ID of the email, the webhook-id of a json
// webhook, the same on every attempt so receivers can drop a repeat.
type deliverer struct {
	smtp     config.SMTP
	webhooks map[string]config.Webhook
	http     *http.Client
	now      func() time.Time
	// tlsConfig, when set, is used for SMTP (tests: a self-signed server).
	tlsConfig *tls.Config
}

func newDeliverer(c *config.Config, now func() time.Time) *deliverer {
	d := &deliverer{smtp: c.Notify.SMTP, webhooks: map[string]config.Webhook{}, now: now,
		http: &http.Client{Timeout: 15 * time.Second,
			// A webhook answering 3xx failed (Standard Webhooks): never
			// follow a redirect to another host.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	for _, w := range c.Notify.Webhooks {
		d.webhooks[w.Name] = w
	}
	return d
}

func (d *deliverer) send(ctx context.Context, r Recipient, m Message, id string) error {
	switch r.Channel {
	case ChannelEmail:
		return d.email(ctx, r.Address, m, id)
	case ChannelWebhook:
		w, ok := d.webhooks[r.Address]
		if !ok {
			return &PermanentError{fmt.Errorf("webhook %q is no longer configured", r.Address)}
		}
		return d.webhook(ctx, w, m, id)
	}
	return &PermanentError{fmt.Errorf("unknown channel %q", r.Channel)}
}

func (d *deliverer) email(ctx context.Context, to string, m Message, id string) error {
	s := d.smtp
	if s.Host == "" {
		return &PermanentError{errors.New("notify.smtp.host is not set")}
	}
	msg := mail.NewMsg()
	if err := msg.From(s.From); err != nil {
		return &PermanentError{err}
	}
	if err := msg.To(to); err != nil {
		return &PermanentError{err}
	}
	msg.Subject(m.Subject)
	msg.SetMessageIDWithValue(id + "@riskpipe")
	msg.SetDateWithValue(d.now())
	msg.SetGenHeader("Auto-Submitted", "auto-generated") // RFC 3834
	msg.SetGenHeader("X-Riskpipe-Kind", string(m.Kind))
	msg.SetGenHeader("X-Riskpipe-Tenant", m.Tenant)
	msg.SetBodyString(mail.TypeTextPlain, m.Text())
	msg.AddAlternativeString(mail.TypeTextHTML, m.HTML())

	opts := []mail.Option{mail.WithPort(s.Port), mail.WithTimeout(30 * time.Second)}
	switch s.TLS {
	case config.SMTPTLS:
		opts = append(opts, mail.WithSSL())
	case config.SMTPNone:
		opts = append(opts, mail.WithTLSPortPolicy(mail.NoTLS))
	default:
		opts = append(opts, mail.WithTLSPortPolicy(mail.TLSMandatory))
	}
	if d.tlsConfig != nil {
		opts = append(opts, mail.WithTLSConfig(d.tlsConfig))
	}
	if s.Username != "" {
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthAutoDiscover), mail.WithUsername(s.Username), mail.WithPassword(s.Password.Reveal()))
	}
	c, err := mail.NewClient(s.Host, opts...)
	if err != nil {
		return &PermanentError{err}
	}
	err = c.DialAndSendWithContext(ctx, msg)
	var se *mail.SendError
	if errors.As(err, &se) && !se.IsTemp() && se.ErrorCode() >= 500 {
		return &PermanentError{err}
	}
	return err
}

func (d *deliverer) webhook(ctx context.Context, w config.Webhook, m Message, id string) error {
	var payload any
	switch w.Format {
	case config.WebhookSlack:
		payload = m.slack()
	case config.WebhookTeams:
		payload = m.teams()
	default:
		payload = m.jsonPayload(id)
	}
	body, err := json.Marshal(payload)
	if err != nil {
		return &PermanentError{err}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL.Reveal(), bytes.NewReader(body))
	if err != nil {
		return &PermanentError{errors.New("invalid webhook URL")}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "riskpipe")
	if w.Format == config.WebhookJSON {
		wh, err := signer(w.Secret.Reveal())
		if err != nil {
			return &PermanentError{err}
		}
		ts := d.now()
		sig, err := wh.Sign(id, ts, body)
		if err != nil {
			return &PermanentError{err}
		}
		req.Header.Set(standardwebhooks.HeaderWebhookID, id)
		req.Header.Set(standardwebhooks.HeaderWebhookTimestamp, strconv.FormatInt(ts.Unix(), 10))
		req.Header.Set(standardwebhooks.HeaderWebhookSignature, sig)
	}
	resp, err := d.http.Do(req)
	if err != nil {
		// The URL is a credential: keep it out of the error.
		var ue interface{ Unwrap() error }
		if errors.As(err, &ue) {
			err = ue.Unwrap()
		}
		return fmt.Errorf("webhook %s: %w", w.Name, err)
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	err = fmt.Errorf("webhook %s: HTTP %d %s", w.Name, resp.StatusCode, strings.TrimSpace(string(snippet)))
	switch {
	case resp.StatusCode == http.StatusRequestTimeout, resp.StatusCode == http.StatusTooManyRequests, resp.StatusCode >= 500:
		return err
	}
	return &PermanentError{err}
}

// signer is the Standard Webhooks signer of a secret: whsec_<base64> as the
// spec writes secrets, or any other string used as the raw key.
func signer(secret string) (*standardwebhooks.Webhook, error) {
	if strings.HasPrefix(secret, "whsec_") {
		if wh, err := standardwebhooks.NewWebhook(secret); err == nil {
			return wh, nil
		}
	}
	return standardwebhooks.NewWebhookRaw([]byte(secret))
}

// Signer returns the Standard Webhooks verifier of a json webhook secret,
// for receivers written in Go (and tests).
func Signer(secret string) (*standardwebhooks.Webhook, error) { return signer(secret) }
