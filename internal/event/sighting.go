package event

import (
	"strings"
	"time"
)

// Sighting is one appearance of a user in the System Log: the actor or a
// target of type User of any event, kept or dropped, at its `published`.
type Sighting struct {
	ID, Login string
	At        time.Time
}

// AppendSightings appends the users e shows (its actor if of type User, its
// first User target) to dst. Events whose `published` could not be parsed
// show nobody (their time is the ingestion time, which differs between
// replays). Okta's placeholder actor for unknown usernames (id "unknown")
// is not a user.
func AppendSightings(dst []Sighting, e *Event) []Sighting {
	if e.PublishedNote != "" || e.Published.IsZero() {
		return dst
	}
	if strings.EqualFold(e.ActorType, "User") && UserKey(e.ActorID, e.ActorLogin) != "" {
		dst = append(dst, Sighting{ID: e.ActorID, Login: e.ActorLogin, At: e.Published})
	}
	if UserKey(e.TargetUserID, e.TargetUserLogin) != "" {
		dst = append(dst, Sighting{ID: e.TargetUserID, Login: e.TargetUserLogin, At: e.Published})
	}
	return dst
}

// UserKey is the key a user is known by: the Okta id, or the login when
// there is no id; "" for no user (none, or Okta's "unknown").
func UserKey(id, login string) string {
	if id != "" {
		if strings.EqualFold(id, "unknown") {
			return ""
		}
		return id
	}
	return login
}
