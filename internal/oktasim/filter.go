package oktasim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// The SCIM filter subset the System Log accepts:
//
//	filter := or
//	or     := and ("or" and)*
//	and    := unary ("and" unary)*
//	unary  := "not" unary | "(" filter ")" | attr op value | attr "pr"
//	op     := eq | ne | co | sw | ew | gt | ge | lt | le      (case-insensitive)
//	value  := "json string" | number | true | false | null
//
// Attribute paths are case-sensitive and dotted (actor.id,
// debugContext.debugData.threatSuspected). A path crossing an array (target)
// matches when any element matches. Comparisons are on the JSON value's
// text (debugData booleans are strings in Okta: compare with "true"), exact
// and case-sensitive; gt/ge/lt/le compare numerically when both sides are
// numbers. `published` cannot be filtered (use since/until), as in Okta.
// A literal `true` also matches the string "true". Filters are evaluated on
// the raw event bytes (jsonpath.go); keys that repeat resolve to the last.

// filterError is a filter Okta would reject with 400 Code.
type filterError struct {
	Code   string // E0000053 (syntax, unknown field/operator) or E0000031 (unsupported)
	Detail string
}

func (e *filterError) Error() string { return e.Detail }

const (
	maxFilterLen   = 4096
	maxFilterDepth = 64
)

// topLevelFields are the LogEvent properties a filter may start with.
var topLevelFields = map[string]bool{
	"actor": true, "authenticationContext": true, "client": true, "debugContext": true,
	"device": true, "displayMessage": true, "eventType": true, "legacyEventType": true,
	"outcome": true, "published": true, "request": true, "securityContext": true,
	"severity": true, "target": true, "transaction": true, "uuid": true, "version": true,
}

var filterOps = map[string]bool{
	"eq": true, "ne": true, "co": true, "sw": true, "ew": true,
	"gt": true, "ge": true, "lt": true, "le": true, "pr": true,
}

// filterNode is a parsed filter, evaluated directly on an event's raw JSON
// (see jsonpath.go). String returns a canonical form that parses back to
// the same node.
type filterNode interface {
	match(raw []byte) bool
	String() string
}

type (
	andNode struct{ l, r filterNode }
	orNode  struct{ l, r filterNode }
	notNode struct{ x filterNode }
	cmpNode struct {
		attr string
		path []string
		op   string
		val  filterValue // unused for pr
	}
)

// filterValue is a comparison value; text (and raw, the same bytes) is its
// string form as compared.
type filterValue struct {
	kind byte // 's' string, 'n' number, 'b' bool, 'z' null
	text string
	raw  []byte
}

func (v filterValue) String() string {
	if v.kind == 's' {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(v.text) // a string always encodes
		return strings.TrimSuffix(b.String(), "\n")
	}
	return v.text
}

func (n andNode) String() string { return "(" + n.l.String() + " and " + n.r.String() + ")" }
func (n orNode) String() string  { return "(" + n.l.String() + " or " + n.r.String() + ")" }
func (n notNode) String() string { return "not (" + n.x.String() + ")" }
func (n cmpNode) String() string {
	if n.op == "pr" {
		return n.attr + " pr"
	}
	return n.attr + " " + n.op + " " + n.val.String()
}

func (n andNode) match(raw []byte) bool { return n.l.match(raw) && n.r.match(raw) }
func (n orNode) match(raw []byte) bool  { return n.l.match(raw) || n.r.match(raw) }
func (n notNode) match(raw []byte) bool { return !n.x.match(raw) }

func (n cmpNode) match(raw []byte) bool {
	var buf [8][]byte
	vals := jsonValues(raw, n.path, buf[:0])
	switch n.op {
	case "pr":
		for _, v := range vals {
			if present(v) {
				return true
			}
		}
		return false
	case "eq":
		return n.eq(vals)
	case "ne":
		return !n.eq(vals)
	}
	for _, v := range vals {
		if s, isNum, ok := scalar(v); ok && n.compare(s, isNum) {
			return true
		}
	}
	return false
}

func (n cmpNode) eq(vals [][]byte) bool {
	if n.val.kind == 'z' {
		for _, v := range vals {
			if !bytes.Equal(v, nullJSON) {
				return false
			}
		}
		return true
	}
	for _, v := range vals {
		if s, _, ok := scalar(v); ok && string(s) == n.val.text {
			return true
		}
	}
	return false
}

func (n cmpNode) compare(s []byte, isNum bool) bool {
	want := n.val.raw
	switch n.op {
	case "co":
		return bytes.Contains(s, want)
	case "sw":
		return bytes.HasPrefix(s, want)
	case "ew":
		return bytes.HasSuffix(s, want)
	}
	c := bytes.Compare(s, want)
	if isNum && n.val.kind == 'n' {
		a, errA := strconv.ParseFloat(string(s), 64)
		b, errB := strconv.ParseFloat(n.val.text, 64)
		if errA == nil && errB == nil {
			c = 0
			if a < b {
				c = -1
			} else if a > b {
				c = 1
			}
		}
	}
	switch n.op {
	case "gt":
		return c > 0
	case "ge":
		return c >= 0
	case "lt":
		return c < 0
	default: // le
		return c <= 0
	}
}

var nullJSON = []byte("null")

// scalar returns the text a JSON scalar compares as: a string unquoted, a
// number or boolean as written; ok is false for null, objects and arrays.
func scalar(v []byte) (text []byte, isNum, ok bool) {
	if len(v) == 0 {
		return nil, false, false
	}
	switch c := v[0]; {
	case c == '"':
		if len(v) < 2 {
			return nil, false, false
		}
		inner := v[1 : len(v)-1]
		if bytes.IndexByte(inner, '\\') < 0 {
			return inner, false, true
		}
		var s string
		if json.Unmarshal(v, &s) != nil {
			return nil, false, false
		}
		return []byte(s), false, true
	case c == 't' || c == 'f':
		return v, false, true
	case c == '-' || c >= '0' && c <= '9':
		return v, true, true
	}
	return nil, false, false
}

// present is SCIM pr: a value other than null, "" and {}.
func present(v []byte) bool {
	switch {
	case len(v) == 0, bytes.Equal(v, nullJSON), bytes.Equal(v, []byte(`""`)):
		return false
	case v[0] == '{':
		return len(bytes.TrimSpace(v[1:len(v)-1])) > 0
	}
	return true
}

// parseFilter parses and validates a System Log filter.
func parseFilter(s string) (filterNode, error) {
	if len(s) > maxFilterLen {
		return nil, &filterError{Code: "E0000053", Detail: fmt.Sprintf("Invalid filter: longer than %d characters", maxFilterLen)}
	}
	toks, err := lexFilter(s)
	if err != nil {
		return nil, err
	}
	return parseTokens(toks, topLevelFields, checkSupported)
}

// parseTokens parses a lexed expression whose attributes start with one of
// top and pass check.
func parseTokens(toks []filterToken, top map[string]bool, check func(cmpNode) error) (filterNode, error) {
	if len(toks) == 0 {
		return nil, syntaxError("empty filter")
	}
	p := &filterParser{toks: toks, top: top, check: check}
	n, err := p.parseOr(0)
	if err != nil {
		return nil, err
	}
	if p.pos < len(p.toks) {
		return nil, syntaxError("unexpected %q", p.toks[p.pos].text)
	}
	return n, nil
}

func syntaxError(format string, args ...any) error {
	return &filterError{Code: "E0000053", Detail: "Invalid filter: " + fmt.Sprintf(format, args...)}
}

type filterToken struct {
	kind byte // '(' ')' 's' (quoted string) 'w' (word)
	text string
}

func lexFilter(s string) ([]filterToken, error) {
	var toks []filterToken
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(' || c == ')':
			toks = append(toks, filterToken{kind: c, text: string(c)})
			i++
		case c == '"':
			j := i + 1
			for j < len(s) && s[j] != '"' {
				if s[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(s) {
				return nil, syntaxError("unterminated string")
			}
			var str string
			if err := json.Unmarshal([]byte(s[i:j+1]), &str); err != nil {
				return nil, syntaxError("bad string %s", s[i:j+1])
			}
			toks = append(toks, filterToken{kind: 's', text: str})
			i = j + 1
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t\n\r()\"", rune(s[j])) {
				j++
			}
			toks = append(toks, filterToken{kind: 'w', text: s[i:j]})
			i = j
		}
	}
	return toks, nil
}

type filterParser struct {
	toks []filterToken
	pos  int
	// top are the attributes a path may start with; check rejects what
	// the endpoint does not support (System Log: checkSupported; users
	// search: usersearch.go).
	top   map[string]bool
	check func(cmpNode) error
}

func (p *filterParser) peekWord(w string) bool {
	return p.pos < len(p.toks) && p.toks[p.pos].kind == 'w' && strings.EqualFold(p.toks[p.pos].text, w)
}

func (p *filterParser) parseOr(depth int) (filterNode, error) {
	l, err := p.parseAnd(depth)
	if err != nil {
		return nil, err
	}
	for p.peekWord("or") {
		p.pos++
		r, err := p.parseAnd(depth)
		if err != nil {
			return nil, err
		}
		l = orNode{l, r}
	}
	return l, nil
}

func (p *filterParser) parseAnd(depth int) (filterNode, error) {
	l, err := p.parseUnary(depth)
	if err != nil {
		return nil, err
	}
	for p.peekWord("and") {
		p.pos++
		r, err := p.parseUnary(depth)
		if err != nil {
			return nil, err
		}
		l = andNode{l, r}
	}
	return l, nil
}

func (p *filterParser) parseUnary(depth int) (filterNode, error) {
	if depth > maxFilterDepth {
		return nil, syntaxError("nested deeper than %d", maxFilterDepth)
	}
	if p.pos >= len(p.toks) {
		return nil, syntaxError("unexpected end of filter")
	}
	t := p.toks[p.pos]
	switch {
	case t.kind == '(':
		p.pos++
		n, err := p.parseOr(depth + 1)
		if err != nil {
			return nil, err
		}
		if p.pos >= len(p.toks) || p.toks[p.pos].kind != ')' {
			return nil, syntaxError("missing )")
		}
		p.pos++
		return n, nil
	case t.kind == 'w' && strings.EqualFold(t.text, "not"):
		p.pos++
		x, err := p.parseUnary(depth + 1)
		if err != nil {
			return nil, err
		}
		return notNode{x}, nil
	case t.kind == 'w':
		return p.parseComparison()
	}
	return nil, syntaxError("unexpected %q", t.text)
}

func (p *filterParser) parseComparison() (filterNode, error) {
	attr := p.toks[p.pos].text
	p.pos++
	path, err := attrPath(attr, p.top)
	if err != nil {
		return nil, err
	}
	if p.pos >= len(p.toks) || p.toks[p.pos].kind != 'w' {
		return nil, syntaxError("missing operator after %s", attr)
	}
	op := strings.ToLower(p.toks[p.pos].text)
	if !filterOps[op] {
		return nil, syntaxError("Unrecognized attribute operator '%s' at position %d. Expected: eq,ne,co,sw,ew,pr,gt,ge,lt,le", p.toks[p.pos].text, p.pos)
	}
	p.pos++
	n := cmpNode{attr: attr, path: path, op: op}
	if err := p.check(n); err != nil {
		return nil, err
	}
	if op == "pr" {
		return n, nil
	}
	if p.pos >= len(p.toks) {
		return nil, syntaxError("missing value after %s %s", attr, op)
	}
	t := p.toks[p.pos]
	p.pos++
	switch {
	case t.kind == 's':
		n.val = filterValue{kind: 's', text: t.text}
	case t.kind == 'w' && (t.text == "true" || t.text == "false"):
		n.val = filterValue{kind: 'b', text: t.text}
	case t.kind == 'w' && t.text == "null":
		n.val = filterValue{kind: 'z', text: "null"}
	case t.kind == 'w' && isJSONNumber(t.text):
		n.val = filterValue{kind: 'n', text: t.text}
	default:
		return nil, syntaxError("invalid value %q for %s", t.text, attr)
	}
	n.val.raw = []byte(n.val.text)
	if n.val.kind == 'z' && op != "eq" && op != "ne" {
		return nil, syntaxError("null only compares with eq or ne")
	}
	return n, nil
}

func isJSONNumber(s string) bool {
	var n json.Number
	return json.Unmarshal([]byte(s), &n) == nil
}

func attrPath(attr string, top map[string]bool) ([]string, error) {
	path := strings.Split(attr, ".")
	for _, p := range path {
		if !validName(p) {
			return nil, syntaxError("field is not valid: %s", attr)
		}
	}
	if !top[path[0]] {
		return nil, &filterError{Code: "E0000053", Detail: "Invalid filter: field is not valid: " + attr}
	}
	return path, nil
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if !letter && (i == 0 || !(c >= '0' && c <= '9' || c == '_' || c == '-' || c == '$')) {
			return false
		}
	}
	return true
}

// checkSupported rejects what Okta documents as unsupported (E0000031).
func checkSupported(n cmpNode) error {
	unsupported := func(why string) error {
		return &filterError{Code: "E0000031", Detail: why}
	}
	switch {
	case n.path[0] == "published":
		return unsupported("Invalid search criteria: SCIM filter expressions can't use the published attribute; use since and until.")
	case len(n.path) >= 2 && n.path[0] == "target" && n.path[1] == "changeDetails":
		return unsupported("Invalid search criteria: target.changeDetails can't be queried.")
	case n.op == "co" && (n.attr == "debugContext.debugData.url" || n.attr == "debugContext.debugData.requestUri"):
		return unsupported(fmt.Sprintf("The supplied combination of operator and field is not currently supported. Operator: co, Field: %s", n.attr))
	}
	return nil
}
