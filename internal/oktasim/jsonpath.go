package oktasim

import (
	"bytes"
	"encoding/json"
)

// A minimal JSON walker for filters: it finds the values at a dotted path
// in an event's raw bytes without decoding the rest (encoding/json would
// cost tens of microseconds per event, and a filtered poll scans every
// event). Malformed JSON never panics; it simply matches nothing (or
// whatever prefix is well formed).

// jsonValues appends the raw values at path, flattening arrays on the way
// and at the end (SCIM multi-valued attributes: target.id looks in every
// target).
func jsonValues(raw []byte, path []string, out [][]byte) [][]byte {
	i := skipSpace(raw, 0)
	if i >= len(raw) {
		return out
	}
	switch {
	case raw[i] == '[':
		for i = skipSpace(raw, i+1); i < len(raw) && raw[i] != ']'; {
			end := skipValue(raw, i)
			if end <= i {
				return out
			}
			out = jsonValues(raw[i:end], path, out)
			i = skipSpace(raw, end)
			if i < len(raw) && raw[i] == ',' {
				i = skipSpace(raw, i+1)
			}
		}
		return out
	case len(path) == 0:
		end := skipValue(raw, i)
		if end <= i {
			return out
		}
		return append(out, raw[i:end])
	case raw[i] != '{':
		return out
	}
	v, ok := objectField(raw[i:], path[0])
	if !ok {
		return out
	}
	return jsonValues(v, path[1:], out)
}

// objectField returns the value of key in the object starting at raw[0];
// the last one when the key repeats, as encoding/json decides.
func objectField(raw []byte, key string) (val []byte, found bool) {
	i := skipSpace(raw, 1)
	for i < len(raw) && raw[i] == '"' {
		kEnd := skipString(raw, i)
		if kEnd <= i {
			return val, found
		}
		match := keyEquals(raw[i:kEnd], key)
		i = skipSpace(raw, kEnd)
		if i >= len(raw) || raw[i] != ':' {
			return val, found
		}
		i = skipSpace(raw, i+1)
		vEnd := skipValue(raw, i)
		if vEnd <= i {
			return val, found
		}
		if match {
			val, found = raw[i:vEnd], true
		}
		i = skipSpace(raw, vEnd)
		if i < len(raw) && raw[i] == ',' {
			i = skipSpace(raw, i+1)
		}
	}
	return val, found
}

// keyEquals compares a quoted JSON key with key.
func keyEquals(quoted []byte, key string) bool {
	inner := quoted[1 : len(quoted)-1]
	for _, c := range inner {
		if c == '\\' {
			var s string
			return json.Unmarshal(quoted, &s) == nil && s == key
		}
	}
	return string(inner) == key
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string starting at b[i] ('"'),
// or i when it is unterminated.
func skipString(b []byte, i int) int {
	for j := i + 1; j < len(b); j++ {
		k := bytes.IndexByte(b[j:], '"')
		if k < 0 {
			return i
		}
		j += k
		escapes := 0
		for p := j - 1; p > i && b[p] == '\\'; p-- {
			escapes++
		}
		if escapes%2 == 0 {
			return j + 1
		}
	}
	return i
}

// skipValue returns the index after the value starting at b[i], or i when
// it is malformed.
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return i
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				end := skipString(b, j)
				if end <= j {
					return i
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return i
	}
	j := i
	for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\t' && b[j] != '\n' && b[j] != '\r' {
		j++
	}
	return j
}
