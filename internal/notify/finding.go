package notify

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
	"time"

	"github.com/riskpipe/riskpipe/internal/config"
)

// Kind is what a notification is about; the set is closed.
type Kind string

const (
	KindAttackStarted      Kind = "attack_started"
	KindAttackEnded        Kind = "attack_ended"
	KindUserCritical       Kind = "user_critical"
	KindCriticalIncident   Kind = "critical_incident"
	KindIntegrationFailing Kind = "integration_failing"
	KindContactsChanged    Kind = "contacts_changed"
	KindContactsReview     Kind = "contacts_review"
	KindTest               Kind = "test"
	KindDigest             Kind = "digest"
	// KindActionPending: a response action waits for a person's approval
	// (or for an identity to be picked); KindResponseBudget: the org's
	// max_actions_per_hour is spent and actions wait (internal/respond).
	KindActionPending  Kind = "action_pending"
	KindResponseBudget Kind = "response_budget"
)

// Kinds is every kind, for metrics initialisation and docs.
var Kinds = []Kind{KindAttackStarted, KindAttackEnded, KindUserCritical, KindCriticalIncident,
	KindIntegrationFailing, KindContactsChanged, KindContactsReview, KindTest, KindDigest,
	KindActionPending, KindResponseBudget}

// Status is a notification row's delivery state; the set is closed.
type Status string

const (
	StatusPending Status = "pending" // written, not (yet) delivered; retried with backoff
	StatusSent    Status = "sent"
	StatusFailed  Status = "failed" // retries exhausted or a permanent error
	StatusFolded  Status = "folded" // over max_per_hour: part of a digest instead
)

// Channel is how a recipient is reached; the set is closed.
type Channel string

const (
	ChannelEmail   Channel = "email"
	ChannelWebhook Channel = "webhook"
)

// User is one user a finding concerns, with the attack factor that made it.
type User struct {
	ID          string  `json:"id"`
	Login       string  `json:"login"`
	Score       float64 `json:"score"`
	Percentile  float64 `json:"percentile"`
	Level       string  `json:"level"`
	Explanation string  `json:"explanation"`
}

// Finding is one thing worth telling an org's contacts.
type Finding struct {
	Tenant string
	Kind   Kind
	// Key is the dedup key: one logical notification per key, ever.
	Key string
	// At is when it happened (UTC): the event's published time, the
	// attack-factor update, the check that found it.
	At    time.Time
	Users []User
	// Detail is a sentence of what happened, without personal data beyond
	// the users' logins.
	Detail string
	// Extra recipients (contacts_changed: the old contacts).
	Extra []config.Contact
}

// roles returns the contact roles a finding kind goes to (the issue's
// table): it contacts for operational notices fall back to primary_security
// when empty.
func roles(k Kind, c config.Contacts) []config.ContactRole {
	switch k {
	case KindCriticalIncident:
		return []config.ContactRole{config.ContactPrimarySecurity, config.ContactCIOCISO}
	case KindIntegrationFailing:
		if len(c.IT) == 0 {
			return []config.ContactRole{config.ContactPrimarySecurity}
		}
		return []config.ContactRole{config.ContactIT}
	case KindContactsChanged, KindTest:
		return config.ContactRoles
	default: // attacks, user critical, review reminders
		return []config.ContactRole{config.ContactPrimarySecurity}
	}
}

// Recipient is one address a message goes to: an email address or a
// webhook name.
type Recipient struct {
	Channel Channel
	Address string // email address, or webhook name
	Name    string // the contact's name (the first contact naming it)
}

// ID is the recipient's column value: the email address, or the webhook
// name.
func (r Recipient) ID() string { return r.Address }

// Recipients resolves a finding to its recipients: the contacts of its
// roles plus f.Extra, each email and each webhook once.
func Recipients(f Finding, c config.Contacts) []Recipient {
	var list []config.Contact
	for _, r := range roles(f.Kind, c) {
		list = append(list, c.List(r)...)
	}
	list = append(list, f.Extra...)
	var out []Recipient
	seen := map[string]bool{}
	add := func(ch Channel, addr, name string) {
		k := string(ch) + ":" + strings.ToLower(addr)
		if addr == "" || seen[k] {
			return
		}
		seen[k] = true
		out = append(out, Recipient{Channel: ch, Address: addr, Name: name})
	}
	for _, ct := range list {
		add(ChannelEmail, ct.Email, ct.Name)
		add(ChannelWebhook, ct.Webhook, ct.Name)
	}
	return out
}

// hashID is a short stable id of s (hex of the first 12 bytes of SHA-256).
func hashID(parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(h[:12])
}

// groupKey is the dedup key of a message covering the findings keys.
func groupKey(keys []string) string {
	s := slices.Clone(keys)
	slices.Sort(s)
	return strings.Join(s, " ")
}
