package respond

import (
	"strings"
	"unicode"
)

// Forget drops from memory every action concerning or mentioning a person
// match reports (privacy.Forgetter through the app): its user, its
// identity, one of its candidates, or a word of its reason, notes or
// error, as the privacy deletion finds the rows of response_actions to
// delete. Its open (org, user, action) key goes too, so a later proposal
// starts afresh. An action in flight is not written back (commit refuses
// an action no longer held) and its Okta call, if not sent yet, is not
// made. It returns how many actions were dropped.
func (s *Service) Forget(match func(id, login string) bool) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for id, a := range s.actions {
		if a.State == "" || !mentions(a, match) {
			continue
		}
		delete(s.actions, id)
		if k := keyOf(a); s.open[k] == id {
			delete(s.open, k)
		}
		n++
	}
	if n > 0 {
		s.updatePending()
		s.log.Info("response actions forgotten for a privacy deletion", "actions", n)
	}
	return n
}

// held reports whether a is still the service's (not forgotten). s.mu
// must be held.
func (s *Service) held(a *Action) bool { return a != nil && s.actions[a.ID] == a }

func mentions(a *Action, match func(id, login string) bool) bool {
	if match(a.UserID, a.UserLogin) || (a.Identity != "" && match(a.Identity, a.Identity)) {
		return true
	}
	for _, c := range a.Candidates {
		if match(c.UserID, c.UserLogin) {
			return true
		}
	}
	texts := append([]string{a.Reason, a.Note, a.Error}, a.Evidence.Notes...)
	for _, t := range texts {
		for _, w := range strings.FieldsFunc(t, func(r rune) bool {
			return !unicode.IsLetter(r) && !unicode.IsDigit(r) && !strings.ContainsRune("@._+-", r)
		}) {
			w = strings.TrimRight(w, ".-")
			if len(w) >= 3 && match(w, w) {
				return true
			}
		}
	}
	return false
}
