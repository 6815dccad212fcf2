package config

import (
	"fmt"
	"strings"
)

// Problem is one thing wrong with a configuration. Path is the key path
// ("tenants[2].auth.token"); it is empty for problems with the document
// itself, such as a YAML syntax error.
type Problem struct {
	Path string
	Msg  string
}

// String returns "path: msg", or msg alone when Path is empty.
func (p Problem) String() string {
	if p.Path == "" {
		return p.Msg
	}
	return p.Path + ": " + p.Msg
}

// Error is every problem found in a configuration, in the order found. Load
// and Parse return it (as error) for any invalid input. Messages name keys
// and environment variables but never contain secrets or values that came
// from the environment.
type Error struct {
	Problems []Problem
}

// Error lists every problem, one per line, "path: msg".
func (e *Error) Error() string {
	if len(e.Problems) == 0 {
		return "invalid config"
	}
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// problems collects Problems, keeping only the first one for each path: a
// key whose value failed to expand or decode is not also reported as, say,
// missing.
type problems struct {
	list []Problem
	seen map[string]bool
}

func (ps *problems) add(path, msg string) {
	if ps.seen[path] {
		return
	}
	if ps.seen == nil {
		ps.seen = make(map[string]bool)
	}
	ps.seen[path] = true
	ps.list = append(ps.list, Problem{Path: path, Msg: msg})
}

func (ps *problems) addf(path, format string, args ...any) {
	ps.add(path, fmt.Sprintf(format, args...))
}

// has reports whether a problem was already recorded at path.
func (ps *problems) has(path string) bool { return ps.seen[path] }

// err returns the collected problems as *Error, or nil when there are none.
func (ps *problems) err() error {
	if len(ps.list) == 0 {
		return nil
	}
	return &Error{Problems: ps.list}
}

// keyPath appends a mapping key to a path.
func keyPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// indexPath appends a sequence index to a path.
func indexPath(path string, i int) string {
	return fmt.Sprintf("%s[%d]", path, i)
}
