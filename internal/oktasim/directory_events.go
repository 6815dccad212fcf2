package oktasim

import (
	"cmp"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"
)

// directoryEvent renders the System Log event Okta writes for a change made
// through the API: actor the token's admin (or the OAuth service app),
// target the user (and the group), transaction.id the request's
// X-Okta-Request-Id and, for API tokens, transaction.detail.requestApiTokenId.
// o.dir.mu must be held.
func (o *Org) directoryEvent(now time.Time, p principal, w http.ResponseWriter, r *http.Request,
	eventType, display, legacy string, u *User, g *Group) []byte {
	reqID := w.Header().Get("X-Okta-Request-Id")
	actor := map[string]any{"id": "00usimadmin" + o.name, "type": "User", "alternateId": "admin@" + o.name + ".example.com",
		"displayName": "Simulated Admin", "detailEntry": nil}
	detail := map[string]any{}
	switch {
	case p.tokenID != "":
		detail["requestApiTokenId"] = p.tokenID
	case p.clientID != "":
		actor = map[string]any{"id": p.clientID, "type": "PublicClientApp", "alternateId": p.clientID,
			"displayName": p.clientID, "detailEntry": nil}
	}
	target := []any{map[string]any{"id": u.ID, "type": "User", "alternateId": u.Profile.Login,
		"displayName": strings.TrimSpace(u.Profile.FirstName + " " + u.Profile.LastName), "detailEntry": nil}}
	if g != nil {
		target = append(target, map[string]any{"id": g.ID, "type": "UserGroup", "alternateId": "unknown",
			"displayName": g.Name, "detailEntry": nil})
	}
	ip, _, _ := net.SplitHostPort(r.RemoteAddr)
	path := strings.TrimPrefix(r.URL.Path, "/o/"+o.name)
	url := path
	if r.URL.RawQuery != "" {
		url += "?" + r.URL.RawQuery
	}
	ev := map[string]any{
		"uuid":            newUUID(),
		"published":       okTime(now),
		"eventType":       eventType,
		"version":         "0",
		"severity":        "INFO",
		"legacyEventType": legacy,
		"displayMessage":  display,
		"actor":           actor,
		"client": map[string]any{"userAgent": map[string]any{"rawUserAgent": r.UserAgent(), "os": "Unknown", "browser": "UNKNOWN"},
			"zone": "null", "device": "Unknown", "id": nil, "ipAddress": ip, "geographicalContext": nil},
		"authenticationContext": map[string]any{"authenticationProvider": nil, "credentialProvider": nil,
			"credentialType": nil, "issuer": nil, "interface": nil, "authenticationStep": 0, "externalSessionId": "trs" + reqID},
		"outcome":         map[string]any{"result": "SUCCESS", "reason": nil},
		"securityContext": map[string]any{"asNumber": nil, "asOrg": nil, "isp": nil, "domain": nil, "isProxy": nil},
		"debugContext": map[string]any{"debugData": map[string]any{"requestId": reqID, "requestUri": path, "url": url,
			"threatSuspected": "false"}},
		"transaction": map[string]any{"type": "WEB", "id": reqID, "detail": detail},
		"request":     map[string]any{"ipChain": []any{}},
		"target":      target,
	}
	b, _ := json.Marshal(ev)
	return b
}

// newUUID is a random RFC 4122 version 4 UUID, the form of event uuids.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.SortedFunc(maps.Keys(m), cmp.Compare[string])
}
