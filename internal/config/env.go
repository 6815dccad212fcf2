package config

import (
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// LookupEnv looks up an environment variable: os.LookupEnv in production,
// MapEnv in tests.
type LookupEnv func(name string) (value string, ok bool)

// MapEnv returns a LookupEnv that reads m.
func MapEnv(m map[string]string) LookupEnv {
	return func(name string) (string, bool) {
		v, ok := m[name]
		return v, ok
	}
}

// expansion replaces ${VAR} references in every scalar value of a YAML
// node tree, before decoding. Mapping keys are never expanded, and neither
// is raw text, so a value containing ": " or a newline cannot change the
// document's structure.
type expansion struct {
	env LookupEnv
	ps  *problems
	// orig holds the text as written of every scalar a variable was
	// substituted into, so messages can quote it instead of the value.
	orig map[*yaml.Node]string
	// failed holds scalars with an unset variable or a malformed
	// reference; the problem is reported and the key is then ignored.
	failed map[*yaml.Node]bool
}

func newExpansion(env LookupEnv, ps *problems) *expansion {
	return &expansion{env: env, ps: ps, orig: map[*yaml.Node]string{}, failed: map[*yaml.Node]bool{}}
}

// walk expands every scalar under n; path is n's key path. Aliases are
// skipped: their anchor is expanded where it is defined.
func (x *expansion) walk(n *yaml.Node, path string) {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			x.walk(c, path)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			x.walk(n.Content[i+1], keyPath(path, keyName(n.Content[i])))
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			x.walk(c, indexPath(path, i))
		}
	case yaml.ScalarNode:
		x.scalar(n, path)
	}
}

func (x *expansion) scalar(n *yaml.Node, path string) {
	out, substituted, unset, ok := expand(n.Value, x.env)
	switch {
	case !ok:
		x.failed[n] = true
		x.ps.add(path, "malformed ${...} reference (write $${ for a literal ${)")
	case len(unset) == 1:
		x.failed[n] = true
		x.ps.addf(path, "environment variable %s is not set", unset[0])
	case len(unset) > 1:
		x.failed[n] = true
		x.ps.addf(path, "environment variables %s are not set", strings.Join(unset, ", "))
	case substituted:
		x.orig[n] = n.Value
		n.Value = out
	default:
		n.Value = out // only $${ escapes, or nothing, was replaced
	}
}

// expand replaces each ${NAME} in s with the value of NAME and each $${
// with a literal ${. Any other $ is kept. It reports whether a variable was
// substituted, the names of unset variables, and ok=false when s holds a
// ${ without a closing brace or with an invalid name. A variable set to
// the empty string is not an error.
func expand(s string, env LookupEnv) (out string, substituted bool, unset []string, ok bool) {
	if !strings.Contains(s, "${") {
		return s, false, nil, true
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		switch {
		case strings.HasPrefix(s[i:], "$${"):
			b.WriteString("${")
			i += 3
		case strings.HasPrefix(s[i:], "${"):
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 {
				return "", false, nil, false
			}
			name := s[i+2 : i+2+end]
			if !isVarName(name) {
				return "", false, nil, false
			}
			if v, set := env(name); set {
				b.WriteString(v)
				substituted = true
			} else if !slices.Contains(unset, name) {
				unset = append(unset, name)
			}
			i += 2 + end + 1
		default:
			b.WriteByte(s[i])
			i++
		}
	}
	return b.String(), substituted, unset, true
}

// isVarName reports whether s is a shell-style variable name,
// [A-Za-z_][A-Za-z0-9_]*.
func isVarName(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		letter := c == '_' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
		if !letter && (i == 0 || c < '0' || c > '9') {
			return false
		}
	}
	return true
}
