package scenario

import (
	"strconv"
	"time"
)

// golden is 2^64 / phi, the splitmix64 increment.
const golden = 0x9E3779B97F4A7C15

// mix64 is the splitmix64 finalizer. It is a bijection on uint64, which the
// uuid scheme relies on for uniqueness.
func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}

// hash2 and hash3 combine keys into one well-mixed word.
func hash2(a, b uint64) uint64    { return mix64(mix64(a+golden) ^ b) }
func hash3(a, b, c uint64) uint64 { return mix64(hash2(a, b) ^ mix64(c+golden)) }

// hashString is FNV-1a, used once per Stream to fold the org name into the key.
func hashString(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// rng is a splitmix64 generator: cheap, deterministic, no global state.
type rng struct{ s uint64 }

func newRng(key uint64) rng { return rng{s: mix64(key)} }

func (r *rng) next() uint64 {
	r.s += golden
	return mix64(r.s)
}

// intn returns a value in [0, n) for 0 < n < 2^32.
func (r *rng) intn(n int) int { return int(((r.next() >> 32) * uint64(n)) >> 32) }

// pct reports true with probability p/100.
func (r *rng) pct(p int) bool { return r.intn(100) < p }

const (
	base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	hexd   = "0123456789abcdef"
)

// appendB62 appends n base62 characters derived from h.
func appendB62(b []byte, h uint64, n int) []byte {
	x := mix64(h)
	for k := 0; k < n; k++ {
		if k > 0 && k%10 == 0 {
			h = mix64(h + golden)
			x = h
		}
		b = append(b, base62[x%62])
		x /= 62
	}
	return b
}

// appendHex appends the n (≤16) low hex digits of h.
func appendHex(b []byte, h uint64, n int) []byte {
	for k := n - 1; k >= 0; k-- {
		b = append(b, hexd[(h>>(uint(k)*4))&0xF])
	}
	return b
}

// appendHex32 appends 32 hex digits derived from h (an Okta request or
// transaction id in its current form).
func appendHex32(b []byte, h uint64) []byte {
	b = appendHex(b, mix64(h), 16)
	return appendHex(b, mix64(h^golden), 16)
}

// appendHex64 appends 64 hex digits derived from h (a dtHash).
func appendHex64(b []byte, h uint64) []byte {
	for k := uint64(0); k < 4; k++ {
		b = appendHex(b, mix64(h+k*golden), 16)
	}
	return b
}

// appendUUID appends a version-1-looking uuid. The first 64 bits (time_low,
// time_mid and the first 16 bits of the node) are a, so distinct a give
// distinct uuids.
func appendUUID(b []byte, a uint64) []byte {
	c := mix64(a ^ 0xD1B54A32D192ED03)
	b = appendHex(b, a>>32, 8)
	b = append(b, '-')
	b = appendHex(b, a>>16, 4)
	b = append(b, '-', '1')
	b = appendHex(b, c, 3)
	b = append(b, '-')
	b = append(b, hexd[8+(c>>12)&3])
	b = appendHex(b, c>>16, 3)
	b = append(b, '-')
	b = appendHex(b, a, 4)
	return appendHex(b, c>>28, 8)
}

// appendUUIDFrom appends a uuid-shaped id derived from h (traceId and the like).
func appendUUIDFrom(b []byte, h uint64) []byte { return appendUUID(b, mix64(h)) }

// appendTime appends t (UTC) as RFC 3339 with milliseconds, the form of
// `published`: 2024-08-13T15:58:20.353Z.
func appendTime(b []byte, t time.Time) []byte {
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	ms := t.Nanosecond() / 1e6
	b = append4(b, y)
	b = append(b, '-')
	b = append2(b, int(mo))
	b = append(b, '-')
	b = append2(b, d)
	b = append(b, 'T')
	b = append2(b, h)
	b = append(b, ':')
	b = append2(b, mi)
	b = append(b, ':')
	b = append2(b, s)
	b = append(b, '.')
	b = append(b, byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10))
	return append(b, 'Z')
}

func append2(b []byte, v int) []byte { return append(b, byte('0'+v/10), byte('0'+v%10)) }

func append4(b []byte, v int) []byte {
	if v < 0 || v > 9999 {
		return strconv.AppendInt(b, int64(v), 10)
	}
	return append(b, byte('0'+v/1000), byte('0'+v/100%10), byte('0'+v/10%10), byte('0'+v%10))
}

// oktaID returns an Okta-shaped id: a 3-character prefix and 17 base62
// characters (00u..., 0oa..., guo..., 00g...).
func oktaID(prefix string, h uint64) string {
	b := make([]byte, 0, 20)
	b = append(b, prefix...)
	return string(appendB62(b, h, 17))
}
