package config

import (
	"fmt"
	"io"
	"log/slog"
)

// Secret is a string that never prints: fmt (every verb, also inside
// structs), slog, JSON, YAML and text marshalling all see "[redacted]".
// Reveal returns the value.
type Secret string

const redacted = "[redacted]"

func (s Secret) String() string               { return redacted }
func (s Secret) GoString() string             { return redacted }
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }
func (s Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }
func (s Secret) LogValue() slog.Value         { return slog.StringValue(redacted) }
func (s Secret) Reveal() string               { return string(s) }
func (s Secret) IsZero() bool                 { return s == "" }

// Format prints [redacted] for every verb. String alone is not enough: for
// a verb fmt does not call String with (%d, %t...), a Secret inside a
// struct would print as "%!d(config.Secret=<the value>)".
func (s Secret) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, redacted) }
