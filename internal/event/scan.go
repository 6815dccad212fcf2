package event

import (
	"encoding/json"
	"strconv"
	"unicode"
	"unicode/utf8"
)

// This file is a single-pass JSON reader specialised for wireEvent. It
// validates the whole input as RFC 8259 JSON while it fills the few fields
// riskpipe needs, and skips everything else without building values. It is
// about 4x faster than encoding/json (which scans the input twice and looks
// every key up through reflection) and has no nesting limit: skipped values
// are walked iteratively with an explicit bracket stack, so arbitrarily deep
// input cannot overflow the goroutine stack.
//
// Its results are defined to be those of json.Unmarshal(raw, &wireEvent{})
// with *json.UnmarshalTypeError ignored, including the odd corners: keys match
// field names case-insensitively (bytes.EqualFold), a repeated key decodes
// again into the same field (objects merge, arrays reuse elements), null
// leaves strings and structs alone and sets slices to nil, a value of the
// wrong type is skipped, and strings with escapes or invalid UTF-8 are
// unquoted by encoding/json itself. FuzzDecode checks this equivalence.

type scanner struct {
	b   []byte
	i   int
	err string // first syntax error, "" while ok
}

// fail records a syntax error at the current offset (the first one wins).
func (s *scanner) fail(what string) {
	if s.err != "" {
		return
	}
	if s.i >= len(s.b) {
		s.err = "unexpected end of input"
		return
	}
	s.err = what + " at offset " + strconv.Itoa(s.i) + " (" + strconv.QuoteRune(rune(s.b[s.i])) + ")"
}

func (s *scanner) ws() {
	for s.i < len(s.b) && isSpace(s.b[s.i]) {
		s.i++
	}
}

// next skips whitespace and returns the next byte. It returns 0 exactly
// when it records an error: at the end of the input, or at a NUL byte (never
// valid outside a string).
func (s *scanner) next() byte {
	s.ws()
	if s.i >= len(s.b) || s.b[s.i] == 0 {
		s.fail("invalid character")
		return 0
	}
	return s.b[s.i]
}

// plainByte marks the bytes that need no attention inside a string.
var plainByte = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// String kinds reported by str.
const (
	strASCII   = iota // printable ASCII, no escapes: usable verbatim
	strUTF8           // no escapes, valid UTF-8 with non-ASCII runes: usable verbatim
	strEscaped        // escapes or invalid UTF-8: must be unquoted
)

// str reads a string starting at the opening quote and returns the bytes
// between the quotes and their kind. ok is false after a syntax error.
func (s *scanner) str() (content []byte, kind int, ok bool) {
	b := s.b
	start := s.i + 1
	i := start
	kind = strASCII
	for {
		for i < len(b) && plainByte[b[i]] {
			i++
		}
		if i >= len(b) {
			s.i = i
			s.fail("")
			return nil, 0, false
		}
		switch c := b[i]; {
		case c == '"':
			s.i = i + 1
			content = b[start:i]
			if kind == strUTF8 && !utf8.Valid(content) {
				kind = strEscaped
			}
			return content, kind, true
		case c == '\\':
			kind = strEscaped
			i++
			if i >= len(b) {
				s.i = i
				s.fail("")
				return nil, 0, false
			}
			switch b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i++
			case 'u':
				i++
				for k := 0; k < 4; k++ {
					if i >= len(b) || !isHex(b[i]) {
						s.i = i
						s.fail("invalid \\u escape in string")
						return nil, 0, false
					}
					i++
				}
			default:
				s.i = i
				s.fail("invalid escape in string")
				return nil, 0, false
			}
		case c < 0x20:
			s.i = i
			s.fail("control character in string")
			return nil, 0, false
		default: // >= 0x80
			if kind == strASCII {
				kind = strUTF8
			}
			i++
		}
	}
}

// strValue reads a string value and unquotes it like encoding/json.
func (s *scanner) strValue() (string, bool) {
	start := s.i
	content, kind, ok := s.str()
	if !ok {
		return "", false
	}
	if kind != strEscaped {
		return string(content), true
	}
	return unquoteSlow(s.b[start:s.i]), true
}

// unquoteSlow unquotes a validated JSON string literal the way
// encoding/json does (escapes, surrogates, invalid UTF-8 → U+FFFD).
func unquoteSlow(lit []byte) string {
	var v string
	_ = json.Unmarshal(lit, &v) // lit was validated by str
	return v
}

// unquote returns the value of a JSON string literal (already validated, as
// all raw values from the scanner are); ok is false if lit is not a string.
func unquote(lit []byte) (string, bool) {
	if len(lit) < 2 || lit[0] != '"' {
		return "", false
	}
	content := lit[1 : len(lit)-1]
	for _, c := range content {
		if !plainByte[c] {
			return unquoteSlow(lit), true
		}
	}
	return string(content), true
}

func (s *scanner) number() {
	b := s.b
	if s.i < len(b) && b[s.i] == '-' {
		s.i++
	}
	switch {
	case s.i >= len(b):
		s.fail("")
		return
	case b[s.i] == '0':
		s.i++
	case b[s.i] >= '1' && b[s.i] <= '9':
		for s.i < len(b) && isDigit(b[s.i]) {
			s.i++
		}
	default:
		s.fail("invalid character looking for value")
		return
	}
	if s.i < len(b) && b[s.i] == '.' {
		s.i++
		if s.i >= len(b) || !isDigit(b[s.i]) {
			s.fail("invalid number")
			return
		}
		for s.i < len(b) && isDigit(b[s.i]) {
			s.i++
		}
	}
	if s.i < len(b) && (b[s.i] == 'e' || b[s.i] == 'E') {
		s.i++
		if s.i < len(b) && (b[s.i] == '+' || b[s.i] == '-') {
			s.i++
		}
		if s.i >= len(b) || !isDigit(b[s.i]) {
			s.fail("invalid number")
			return
		}
		for s.i < len(b) && isDigit(b[s.i]) {
			s.i++
		}
	}
}

func (s *scanner) literal(word string) {
	if len(s.b)-s.i < len(word) || string(s.b[s.i:s.i+len(word)]) != word {
		s.fail("invalid literal")
		return
	}
	s.i += len(word)
}

// scalar reads one string, number or literal starting with c at s.i.
func (s *scanner) scalar(c byte) {
	switch c {
	case '"':
		s.str()
	case 't':
		s.literal("true")
	case 'f':
		s.literal("false")
	case 'n':
		s.literal("null")
	default:
		s.number()
	}
}

// skip validates and steps over one value of any depth without recursion.
func (s *scanner) skip() {
	var stackBuf [32]byte
	stack := stackBuf[:0] // open containers: '{' or '['
	for s.err == "" {
		// A value is expected here.
		switch c := s.next(); c {
		case 0:
			return
		case '{', '[':
			s.i++
			closer := byte('}')
			if c == '[' {
				closer = ']'
			}
			d := s.next()
			if d == closer {
				s.i++
				break // empty container: a complete value
			}
			stack = append(stack, c)
			if c == '{' {
				s.memberKey()
			}
			continue
		default:
			s.scalar(c)
		}
		// A value just ended: close containers, or move to the next element.
		for s.err == "" {
			if len(stack) == 0 {
				return
			}
			d := s.next()
			top := stack[len(stack)-1]
			if d == ',' {
				s.i++
				if top == '{' {
					s.memberKey()
				}
				break
			}
			if top == '{' && d == '}' || top == '[' && d == ']' {
				s.i++
				stack = stack[:len(stack)-1]
				continue
			}
			s.fail("invalid character after value")
		}
	}
}

// memberKey reads `"key" :` inside an object being skipped.
func (s *scanner) memberKey() {
	if s.next() != '"' {
		s.fail("invalid character looking for object key")
		return
	}
	s.str()
	if s.err == "" && s.next() != ':' {
		s.fail("invalid character after object key")
	}
	if s.err == "" {
		s.i++
	}
}

// Objects and arrays are read with a loop instead of callbacks (closures
// would be allocated per call):
//
//	for k := s.enterObject(); k != nil; k = s.nextKey() {
//		switch { case keyIs(k, "id"): s.stringField(&x.ID); default: s.skip() }
//	}
//
// enterObject is called at a value: it skips anything but an object and
// returns nil. Each key is returned with s at its value, which the loop body
// must consume; nil ends the loop (end of object or syntax error).

func (s *scanner) enterObject() []byte {
	if s.err != "" {
		return nil
	}
	if s.b[s.i] != '{' {
		s.skip()
		return nil
	}
	s.i++
	if s.next() == '}' {
		s.i++
		return nil
	}
	return s.key()
}

func (s *scanner) nextKey() []byte {
	if s.err != "" {
		return nil
	}
	switch s.next() {
	case ',':
		s.i++
		s.next()
		return s.key()
	case '}':
		s.i++
		return nil
	case 0:
		return nil
	}
	s.fail("invalid character after object value")
	return nil
}

// emptyKey stands for "" so that a present empty key is not nil.
var emptyKey = []byte{}

// key reads `"key" :` and leaves s at the value. Keys that are not plain
// ASCII are unquoted and folded (see foldKey).
func (s *scanner) key() []byte {
	if s.err != "" {
		return nil
	}
	if s.b[s.i] != '"' {
		s.fail("invalid character looking for object key")
		return nil
	}
	start := s.i
	k, kind, ok := s.str()
	if !ok {
		return nil
	}
	if kind != strASCII {
		k = foldKey(unquoteSlow(s.b[start:s.i]))
	}
	if s.next() != ':' {
		s.fail("invalid character after object key")
		return nil
	}
	s.i++
	if s.next() == 0 {
		return nil
	}
	if k == nil {
		k = emptyKey
	}
	return k
}

// enterArray is called at a value: it skips anything but an array and
// returns false; for an array it reports whether there is a first element
// (s is then at it).
func (s *scanner) enterArray() bool {
	if s.err != "" {
		return false
	}
	if s.b[s.i] != '[' {
		s.skip()
		return false
	}
	s.i++
	if s.next() == ']' {
		s.i++
		return false
	}
	return s.err == ""
}

// nextElem steps past the element separator; false at the end of the array.
func (s *scanner) nextElem() bool {
	if s.err != "" {
		return false
	}
	switch s.next() {
	case ',':
		s.i++
		return s.next() != 0
	case ']':
		s.i++
		return false
	case 0:
		return false
	}
	s.fail("invalid character after array element")
	return false
}

// Typed field readers, called with s at the (non-blank) value. A value of
// another JSON type, or null, is skipped and leaves dst unchanged (except
// null for slices, which sets them to nil), as with encoding/json.

func (s *scanner) stringField(dst *string) {
	if s.err != "" {
		return
	}
	if s.b[s.i] != '"' {
		s.skip()
		return
	}
	if v, ok := s.strValue(); ok {
		*dst = v
	}
}

// rawField stores the value's bytes (a sub-slice of the input, not a copy).
func (s *scanner) rawField(dst *json.RawMessage) {
	if s.err != "" {
		return
	}
	start := s.i
	s.skip()
	if s.err == "" {
		*dst = s.b[start:s.i]
	}
}

// sliceStart handles a slice field's value: it returns false when the value
// was consumed (null sets *dst to nil, other non-arrays are skipped).
func sliceStart[T any](s *scanner, dst *[]T) bool {
	if s.err != "" {
		return false
	}
	switch s.b[s.i] {
	case '[':
		return true
	case 'n':
		s.skip()
		if s.err == "" {
			*dst = nil
		}
		return false
	}
	s.skip()
	return false
}

// sliceElem returns the element n of the slice being decoded, reusing the
// backing array like encoding/json does.
func sliceElem[T any](sl []T, n int) []T {
	if n >= cap(sl) {
		var zero T
		return append(sl[:n], zero)
	}
	return sl[:n+1]
}

// sliceEnd stores the decoded slice of n elements.
func sliceEnd[T any](s *scanner, dst *[]T, sl []T, n int) {
	if s.err != "" {
		return
	}
	if n == 0 {
		sl = make([]T, 0)
	}
	*dst = sl[:n]
}

// keyIs reports whether key equals the ASCII name ignoring ASCII case. With
// keys folded by foldKey this is bytes.EqualFold, which is how encoding/json
// matches keys to struct fields.
func keyIs(key []byte, name string) bool {
	return len(key) == len(name) && equalFoldASCII(key, name)
}

func equalFoldASCII(key []byte, name string) bool {
	for i := 0; i < len(key); i++ {
		a, b := key[i], name[i]
		if a != b && (a|0x20 != b|0x20 || !isLetter(a)) {
			return false
		}
	}
	return true
}

// foldKey rewrites each non-ASCII rune that case-folds to an ASCII letter
// (U+212A KELVIN SIGN → k, U+017F LONG S → s) as that letter, so that
// keyIs on the result equals bytes.EqualFold on the original.
func foldKey(k string) []byte {
	out := make([]byte, 0, len(k))
	for _, r := range k {
		if r >= utf8.RuneSelf {
			for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
				if f < utf8.RuneSelf {
					r = f
					break
				}
			}
		}
		out = utf8.AppendRune(out, r)
	}
	return out
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isHex(c byte) bool   { return isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

// decodeWire fills w from raw, whose first non-blank byte is '{'. It returns
// a syntax error description, or "".
func decodeWire(raw []byte, w *wireEvent) string {
	s := scanner{b: raw}
	s.next()
	s.event(w)
	if s.err == "" {
		if s.ws(); s.i != len(s.b) {
			s.fail("invalid character after top-level value")
		}
	}
	return s.err
}

func (s *scanner) event(w *wireEvent) {
	for k := s.enterObject(); k != nil; k = s.nextKey() {
		switch {
		case keyIs(k, "eventType"):
			s.stringField(&w.EventType)
		case keyIs(k, "uuid"):
			s.stringField(&w.UUID)
		case keyIs(k, "published"):
			s.rawField(&w.Published)
		case keyIs(k, "actor"):
			s.actor(&w.Actor)
		case keyIs(k, "target"):
			s.targets(&w.Target)
		case keyIs(k, "client"):
			s.client(&w.Client)
		case keyIs(k, "request"):
			s.request(&w.Request)
		case keyIs(k, "outcome"):
			s.outcome(&w.Outcome)
		case keyIs(k, "transaction"):
			s.idObject(&w.Transaction.ID, "id")
		case keyIs(k, "authenticationContext"):
			s.idObject(&w.AuthenticationContext.ExternalSessionID, "externalSessionId")
		case keyIs(k, "debugContext"):
			s.debugContext(&w.DebugContext)
		case keyIs(k, "securityContext"):
			for k := s.enterObject(); k != nil; k = s.nextKey() {
				if keyIs(k, "risk") {
					s.rawField(&w.SecurityContext.Risk)
				} else {
					s.skip()
				}
			}
		case keyIs(k, "severity"):
			s.stringField(&w.Severity)
		case keyIs(k, "displayMessage"):
			s.stringField(&w.DisplayMessage)
		case keyIs(k, "legacyEventType"):
			s.stringField(&w.LegacyEventType)
		default:
			s.skip()
		}
	}
}

func (s *scanner) actor(a *wireActor) {
	for k := s.enterObject(); k != nil; k = s.nextKey() {
		switch {
		case keyIs(k, "id"):
			s.stringField(&a.ID)
		case keyIs(k, "type"):
			s.stringField(&a.Type)
		case keyIs(k, "alternateId"):
			s.stringField(&a.AlternateID)
		case keyIs(k, "displayName"):
			s.stringField(&a.DisplayName)
		default:
			s.skip()
		}
	}
}

func (s *scanner) targets(dst *[]wireActor) {
	if !sliceStart(s, dst) {
		return
	}
	sl, n := *dst, 0
	for more := s.enterArray(); more; more = s.nextElem() {
		sl = sliceElem(sl, n)
		s.actor(&sl[n])
		n++
	}
	sliceEnd(s, dst, sl, n)
}

func (s *scanner) client(c *wireClient) {
	for k := s.enterObject(); k != nil; k = s.nextKey() {
		switch {
		case keyIs(k, "ipAddress"):
			s.stringField(&c.IPAddress)
		case keyIs(k, "geographicalContext"):
			s.idObject(&c.GeographicalContext.Country, "country")
		default:
			s.skip()
		}
	}
}

func (s *scanner) request(r *wireRequest) {
	for k := s.enterObject(); k != nil; k = s.nextKey() {
		if !keyIs(k, "ipChain") {
			s.skip()
			continue
		}
		if !sliceStart(s, &r.IPChain) {
			continue
		}
		sl, n := r.IPChain, 0
		for more := s.enterArray(); more; more = s.nextElem() {
			sl = sliceElem(sl, n)
			s.idObject(&sl[n].IP, "ip")
			n++
		}
		sliceEnd(s, &r.IPChain, sl, n)
	}
}

func (s *scanner) outcome(o *wireOutcome) {
	for k := s.enterObject(); k != nil; k = s.nextKey() {
		switch {
		case keyIs(k, "result"):
			s.stringField(&o.Result)
		case keyIs(k, "reason"):
			s.stringField(&o.Reason)
		default:
			s.skip()
		}
	}
}

// idObject reads an object of which only the string member name matters.
func (s *scanner) idObject(dst *string, name string) {
	for k := s.enterObject(); k != nil; k = s.nextKey() {
		if keyIs(k, name) {
			s.stringField(dst)
		} else {
			s.skip()
		}
	}
}

func (s *scanner) debugContext(d *wireDebugCtx) {
	for k := s.enterObject(); k != nil; k = s.nextKey() {
		if !keyIs(k, "debugData") {
			s.skip()
			continue
		}
		dd := &d.DebugData
		for k := s.enterObject(); k != nil; k = s.nextKey() {
			switch {
			case keyIs(k, "risk"):
				s.rawField(&dd.Risk)
			case keyIs(k, "threatSuspected"):
				s.rawField(&dd.ThreatSuspected)
			case keyIs(k, "logOnlySecurityData"):
				s.rawField(&dd.LogOnlySecurityData)
			case keyIs(k, "threatDetections"):
				s.rawField(&dd.ThreatDetections)
			case keyIs(k, "log_only_security_data"):
				s.rawField(&dd.LogOnlySecurityDataSnake)
			case keyIs(k, "threat_suspected"):
				s.rawField(&dd.ThreatSuspectedSnake)
			case keyIs(k, "threat_detections"):
				s.rawField(&dd.ThreatDetectionsSnake)
			default:
				s.skip()
			}
		}
	}
}

// validJSON reports whether b is exactly one JSON value (any depth), with a
// description of the first syntax error.
func validJSON(b []byte) (bool, string) {
	s := scanner{b: b}
	s.skip()
	if s.err == "" {
		if s.ws(); s.i != len(s.b) {
			s.fail("invalid character after top-level value")
		}
	}
	return s.err == "", s.err
}
