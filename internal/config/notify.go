package config

import (
	"fmt"
	"net/mail"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Notify is how riskpipe tells an org's contacts about findings
// (internal/notify, docs/notifications.md).
type Notify struct {
	SMTP     SMTP      `yaml:"smtp"`
	Webhooks []Webhook `yaml:"webhooks"`
	// DashboardURL is the base of the links in messages; default
	// http://<http.listen> (EffectiveDashboardURL).
	DashboardURL string `yaml:"dashboard_url"`
	// GroupInterval: findings of one kind for one org within this window
	// go out as one message. Default 5m.
	GroupInterval time.Duration `yaml:"group_interval"`
	// MaxPerHour bounds the messages per recipient per hour; the excess is
	// folded into a digest. Default 20.
	MaxPerHour       int              `yaml:"max_per_hour"`
	CriticalIncident CriticalIncident `yaml:"critical_incident"`
	// OperationalAfter: a tenant failing this long tells its IT contacts.
	// Default 30m.
	OperationalAfter time.Duration `yaml:"operational_after"`
	// ContactsReviewEvery: contacts not reviewed for this long get a
	// weekly reminder. Default 180d (a number of days is written Nd).
	ContactsReviewEvery time.Duration `yaml:"contacts_review_every"`
}

// CriticalIncident is when the CIO/CISO contacts are told as well.
type CriticalIncident struct {
	CriticalUsers int           `yaml:"critical_users"` // default 5
	Within        time.Duration `yaml:"within"`         // default 1h
}

// SMTP TLS modes.
const (
	SMTPStartTLS = "starttls" // default: STARTTLS required
	SMTPTLS      = "tls"      // implicit TLS (port 465)
	SMTPNone     = "none"     // plain text; loopback hosts only
)

// SMTP is the mail submission server. An empty host disables email.
type SMTP struct {
	Host     string `yaml:"host"`
	Port     int    `yaml:"port"` // default 587
	Username string `yaml:"username"`
	Password Secret `yaml:"password"`
	From     string `yaml:"from"`
	TLS      string `yaml:"tls"` // starttls | tls | none
}

// Webhook formats.
const (
	WebhookSlack = "slack"
	WebhookTeams = "teams" // Workflows "When a Teams webhook request is received", Adaptive Card
	WebhookJSON  = "json"  // signed with Standard Webhooks headers
)

// Webhook is one chat or HTTP channel contacts can name.
type Webhook struct {
	Name   string `yaml:"name"`
	URL    Secret `yaml:"url"` // chat webhook URLs are credentials: never logged
	Format string `yaml:"format"`
	Secret Secret `yaml:"secret"` // json only: whsec_<base64> or any string
}

// Contacts are an org's security contacts. The top-level block is added to
// every tenant's own.
type Contacts struct {
	// PrimarySecurity receive every security notification.
	PrimarySecurity []Contact `yaml:"primary_security" json:"primary_security"`
	// CIOCISO are told only of critical incidents (one recommended).
	CIOCISO []Contact `yaml:"cio_ciso" json:"cio_ciso"`
	// IT receive operational notices; primary_security when empty.
	IT []Contact `yaml:"it" json:"it"`
}

// Contact is a person or group: an email address, a webhook, or both.
type Contact struct {
	Name    string `yaml:"name" json:"name"`
	Email   string `yaml:"email" json:"email,omitempty"`
	Webhook string `yaml:"webhook" json:"webhook,omitempty"` // the name of a notify.webhooks entry
}

// ContactRole names a list of Contacts; the set is closed.
type ContactRole string

const (
	ContactPrimarySecurity ContactRole = "primary_security"
	ContactCIOCISO         ContactRole = "cio_ciso"
	ContactIT              ContactRole = "it"
)

// ContactRoles is every role, in document order.
var ContactRoles = []ContactRole{ContactPrimarySecurity, ContactCIOCISO, ContactIT}

// List returns the contacts of role r.
func (c Contacts) List(r ContactRole) []Contact {
	switch r {
	case ContactPrimarySecurity:
		return c.PrimarySecurity
	case ContactCIOCISO:
		return c.CIOCISO
	case ContactIT:
		return c.IT
	}
	return nil
}

// Empty reports whether no contact is configured.
func (c Contacts) Empty() bool {
	return len(c.PrimarySecurity)+len(c.CIOCISO)+len(c.IT) == 0
}

// EffectiveDashboardURL is notify.dashboard_url, or http://<http.listen>
// when it is empty ("" when both are).
func (c *Config) EffectiveDashboardURL() string {
	if c.Notify.DashboardURL != "" {
		return strings.TrimRight(c.Notify.DashboardURL, "/")
	}
	if c.HTTP.Listen == "" {
		return ""
	}
	host := c.HTTP.Listen
	if strings.HasPrefix(host, ":") {
		host = "localhost" + host
	}
	return "http://" + host
}

// Warnings are things a valid configuration should still fix: more than
// one cio_ciso contact (one is recommended), a tenant without contacts
// while notifications are configured.
func (c *Config) Warnings() []Problem {
	var ws []Problem
	channels := c.Notify.SMTP.Host != "" || len(c.Notify.Webhooks) > 0
	for i, t := range c.Tenants {
		p := keyPath(indexPath("tenants", i), "contacts")
		if n := len(t.Contacts.CIOCISO); n > 1 {
			ws = append(ws, Problem{Path: keyPath(p, "cio_ciso"), Msg: fmt.Sprintf("%d contacts; one is recommended (the most senior security owner)", n)})
		}
		if channels && len(t.Contacts.PrimarySecurity) == 0 {
			ws = append(ws, Problem{Path: keyPath(p, "primary_security"), Msg: "no primary security contact: nobody is told about attacks on this org"})
		}
	}
	return ws
}

// decodeNotify decodes the notify block.
func (d *decoder) notify(n *yaml.Node, path string, no *Notify) {
	d.mapping(n, path, map[string]field{
		"smtp": func(n *yaml.Node, p string) {
			s := &no.SMTP
			d.mapping(n, p, map[string]field{
				"host":     d.str(&s.Host),
				"port":     d.integer(&s.Port),
				"username": d.str(&s.Username),
				"password": d.secret(&s.Password),
				"from":     d.str(&s.From),
				"tls":      d.str(&s.TLS),
			})
		},
		"webhooks": func(n *yaml.Node, p string) {
			if n.Kind != yaml.SequenceNode {
				d.ps.addf(p, "expected a list of webhooks, got %s", kindName(n))
				return
			}
			for i, item := range n.Content {
				var w Webhook
				d.mapping(resolve(item), indexPath(p, i), map[string]field{
					"name":   d.str(&w.Name),
					"url":    d.secret(&w.URL),
					"format": d.str(&w.Format),
					"secret": d.secret(&w.Secret),
				})
				no.Webhooks = append(no.Webhooks, w)
			}
		},
		"dashboard_url":  d.str(&no.DashboardURL),
		"group_interval": d.duration(&no.GroupInterval),
		"max_per_hour":   d.integer(&no.MaxPerHour),
		"critical_incident": func(n *yaml.Node, p string) {
			d.mapping(n, p, map[string]field{
				"critical_users": d.integer(&no.CriticalIncident.CriticalUsers),
				"within":         d.duration(&no.CriticalIncident.Within),
			})
		},
		"operational_after":     d.duration(&no.OperationalAfter),
		"contacts_review_every": d.days(&no.ContactsReviewEvery),
	})
}

// days decodes a duration that may also be a whole number of days, "180d".
func (d *decoder) days(dst *time.Duration) field {
	return func(n *yaml.Node, path string) {
		s, ok := d.scalar(n, path, "a duration")
		if !ok {
			return
		}
		if num, found := strings.CutSuffix(s, "d"); found {
			if v, err := strconv.Atoi(num); err == nil && v >= 0 && v < 100000 {
				*dst = time.Duration(v) * 24 * time.Hour
				return
			}
		}
		v, err := time.ParseDuration(s)
		if err != nil {
			d.ps.add(path, "invalid duration "+d.quote(n)+" (e.g. 180d or 4320h)")
			return
		}
		*dst = v
	}
}

// contacts decodes a contacts block.
func (d *decoder) contacts(n *yaml.Node, path string, c *Contacts) {
	list := func(dst *[]Contact) field {
		return func(n *yaml.Node, p string) {
			if n.Kind != yaml.SequenceNode {
				d.ps.addf(p, "expected a list of contacts, got %s", kindName(n))
				return
			}
			for i, item := range n.Content {
				var ct Contact
				d.mapping(resolve(item), indexPath(p, i), map[string]field{
					"name":    d.str(&ct.Name),
					"email":   d.str(&ct.Email),
					"webhook": d.str(&ct.Webhook),
				})
				*dst = append(*dst, ct)
			}
		}
	}
	d.mapping(n, path, map[string]field{
		"primary_security": list(&c.PrimarySecurity),
		"cio_ciso":         list(&c.CIOCISO),
		"it":               list(&c.IT),
	})
}

// mergeContacts returns the top-level contacts followed by the tenant's own.
func mergeContacts(top, own Contacts) Contacts {
	cat := func(a, b []Contact) []Contact {
		if len(a)+len(b) == 0 {
			return nil
		}
		return append(slices.Clone(a), b...)
	}
	return Contacts{
		PrimarySecurity: cat(top.PrimarySecurity, own.PrimarySecurity),
		CIOCISO:         cat(top.CIOCISO, own.CIOCISO),
		IT:              cat(top.IT, own.IT),
	}
}

// notify validates the notify block.
func (v *validator) notify(c *Config) {
	n := c.Notify
	at := func(key string) string { return keyPath("notify", key) }
	s := n.SMTP
	sp := func(key string) string { return keyPath(at("smtp"), key) }
	if s.Host != "" {
		if s.Port < 1 || s.Port > 65535 {
			v.ps.add(sp("port"), "must be between 1 and 65535")
		}
		switch {
		case s.From == "":
			v.ps.add(sp("from"), "required when host is set")
		case !isAddress(s.From):
			v.ps.add(sp("from"), "not an email address (RFC 5322 addr-spec, e.g. riskpipe@example.com)")
		}
	}
	if s.Password != "" && s.Username == "" {
		v.ps.add(sp("password"), "set username too (a password without username)")
	}
	switch s.TLS {
	case SMTPStartTLS, SMTPTLS:
	case SMTPNone:
		if s.Host != "" && !isLoopback(s.Host) {
			v.ps.add(sp("tls"), "none is allowed only for loopback hosts (localhost, 127.0.0.0/8, ::1)")
		}
	default:
		v.ps.add(sp("tls"), "must be starttls, tls or none")
	}
	names := map[string]int{}
	for i, w := range n.Webhooks {
		p := indexPath(at("webhooks"), i)
		wp := func(key string) string { return keyPath(p, key) }
		switch first, dup := names[w.Name]; {
		case w.Name == "":
			v.ps.add(wp("name"), "required")
		case dup:
			v.ps.add(wp("name"), "duplicate of "+indexPath(at("webhooks"), first))
		default:
			names[w.Name] = i
		}
		if msg := checkWebhookURL(w.URL.Reveal()); msg != "" && !v.ps.has(wp("url")) {
			v.ps.add(wp("url"), msg)
		}
		switch w.Format {
		case WebhookSlack, WebhookTeams:
			if w.Secret != "" {
				v.ps.add(wp("secret"), "only used with format json (slack and teams URLs carry their own credential)")
			}
		case WebhookJSON:
			if w.Secret == "" && !v.ps.has(wp("secret")) {
				v.ps.add(wp("secret"), "required for format json (the HMAC-SHA256 key of the webhook-signature header)")
			}
		default:
			v.ps.add(wp("format"), "must be slack, teams or json")
		}
	}
	if n.DashboardURL != "" {
		if _, msg := checkBaseURL(n.DashboardURL); msg != "" {
			v.ps.add(at("dashboard_url"), msg)
		}
	}
	v.positive(at("group_interval"), n.GroupInterval)
	if n.MaxPerHour < 1 {
		v.ps.add(at("max_per_hour"), "must be at least 1")
	}
	if n.CriticalIncident.CriticalUsers < 1 {
		v.ps.add(keyPath(at("critical_incident"), "critical_users"), "must be at least 1")
	}
	v.positive(keyPath(at("critical_incident"), "within"), n.CriticalIncident.Within)
	v.positive(at("operational_after"), n.OperationalAfter)
	v.positive(at("contacts_review_every"), n.ContactsReviewEvery)

	v.contacts(c.Contacts, "contacts", names, s.Host != "", nil)
	for i := range c.Tenants {
		v.contacts(v.m.tenants[i].contacts, keyPath(indexPath("tenants", i), "contacts"), names, s.Host != "", &c.Contacts)
	}
}

// contacts validates one contacts block; top, for a tenant's block, is the
// top-level one its entries must not repeat.
func (v *validator) contacts(c Contacts, path string, webhooks map[string]int, smtp bool, top *Contacts) {
	for _, r := range ContactRoles {
		rp := keyPath(path, string(r))
		seen := map[string]string{}
		if top != nil {
			for i, ct := range top.List(r) {
				seen[contactKey(ct)] = indexPath(keyPath("contacts", string(r)), i)
			}
		}
		for i, ct := range c.List(r) {
			p := indexPath(rp, i)
			cp := func(key string) string { return keyPath(p, key) }
			if ct.Email == "" && ct.Webhook == "" {
				v.ps.add(p, "needs an email, a webhook or both")
				continue
			}
			if ct.Email != "" {
				switch {
				case !isAddress(ct.Email):
					v.ps.add(cp("email"), "not an email address (RFC 5322 addr-spec, e.g. secops@acme.example)")
				case !smtp:
					v.ps.add(cp("email"), "needs notify.smtp.host to be sent")
				}
			}
			if _, ok := webhooks[ct.Webhook]; ct.Webhook != "" && !ok {
				v.ps.add(cp("webhook"), "no webhook of that name in notify.webhooks")
			}
			k := contactKey(ct)
			if first, dup := seen[k]; dup {
				v.ps.add(p, "duplicate of "+first)
				continue
			}
			seen[k] = p
		}
	}
}

// contactKey identifies a contact within one role: its address (case
// folded) and webhook.
func contactKey(c Contact) string {
	return strings.ToLower(c.Email) + "\x00" + c.Webhook
}

// isAddress reports whether s is a bare RFC 5322 address (no display name:
// the name has its own key).
func isAddress(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Name == "" && a.Address == s
}

// checkWebhookURL returns a problem with a webhook URL, or "". https, or
// http for loopback hosts; a query is allowed (Teams Workflows URLs carry
// their signature in it). Messages never echo the URL.
func checkWebhookURL(raw string) string {
	if raw == "" {
		return "required"
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil || u.Opaque != "":
		return "not a valid URL"
	case u.Scheme == "http" && !isLoopback(u.Hostname()):
		return "http is allowed only for loopback hosts (localhost, 127.0.0.0/8, ::1); use https"
	case u.Scheme != "https" && u.Scheme != "http":
		return "must be an https URL"
	case u.Hostname() == "":
		return "must have a host"
	case u.User != nil:
		return "must not contain user info"
	}
	return ""
}
