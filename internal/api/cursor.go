package api

import (
	"encoding/base64"
	"encoding/json"
)

// Cursors are opaque to clients: base64url of a small JSON object naming
// the last row returned. Clients must pass them back unchanged.

func encodeCursor(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor fills v from s; an empty s leaves v as it is.
func decodeCursor(s, param string, v any) error {
	if s == "" {
		return nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || json.Unmarshal(b, v) != nil {
		return badRequest("%s is not a cursor this API returned", param)
	}
	return nil
}
