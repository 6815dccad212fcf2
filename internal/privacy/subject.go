package privacy

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/mail"
	"strings"
)

// ErrInvalidEmail: the request's email is not one address.
var ErrInvalidEmail = errors.New("invalid email address")

// NormalizeEmail checks that s is one bare email address (local@domain,
// no display name) and returns it lower-cased and trimmed. The error
// never repeats the input.
func NormalizeEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 320 {
		return "", ErrInvalidEmail
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return "", ErrInvalidEmail
	}
	local, domain, ok := strings.Cut(a.Address, "@")
	if !ok || local == "" || domain == "" || strings.ContainsAny(s, " \t\r\n") {
		return "", ErrInvalidEmail
	}
	return strings.ToLower(s), nil
}

// Hasher computes HMAC-SHA256(key, value) in hex: the email_hash of the
// audit and the subject hashes that running processes forget and suppress
// by. Logins and emails are hashed lower-cased, user ids as they are.
type Hasher struct{ key []byte }

// NewHasher returns a Hasher with privacy.hash_key.
func NewHasher(key string) *Hasher { return &Hasher{key: []byte(key)} }

// Email hashes a login or an email (lower-cased).
func (h *Hasher) Email(s string) string { return h.sum("email:" + strings.ToLower(s)) }

// ID hashes an Okta user id.
func (h *Hasher) ID(s string) string { return h.sum("id:" + s) }

func (h *Hasher) sum(s string) string {
	m := hmac.New(sha256.New, h.key)
	m.Write([]byte(s))
	return hex.EncodeToString(m.Sum(nil))
}

// Subject is who a Forgetter must forget: a user matches when its id is
// one of IDs or its login equals one of Logins (lower-cased).
type Subject struct {
	IDs    []string
	Logins []string
}

// Matches reports whether a user (id, login) is the subject.
func (s Subject) Matches(id, login string) bool {
	if id != "" && contains(s.IDs, id) {
		return true
	}
	return login != "" && contains(s.Logins, strings.ToLower(login))
}

// HashedSubject matches users by the hashes of their id and login: what a
// process that only knows the audit's subject_hashes can forget by.
type HashedSubject struct {
	H      *Hasher
	Hashes map[string]struct{}
}

// Matches reports whether a user (id, login) hashes to one of the hashes.
func (s HashedSubject) Matches(id, login string) bool {
	if len(s.Hashes) == 0 {
		return false
	}
	if id != "" {
		if _, ok := s.Hashes[s.H.ID(id)]; ok {
			return true
		}
	}
	if login != "" {
		if _, ok := s.Hashes[s.H.Email(login)]; ok {
			return true
		}
	}
	return false
}

// Matcher tells whether a user (id, login) is a deleted person.
type Matcher interface {
	Matches(id, login string) bool
}

// Forgetter is in-memory state holding users (the score engines, the
// classifiers' attribution tables, caches): Forget drops every user m
// matches, so that nothing written later brings them back.
type Forgetter interface {
	Forget(m Matcher)
}
