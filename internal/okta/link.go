package okta

import (
	"net/url"
	"strings"
)

// link is one RFC 8288 link-value: a target and its relation types.
type link struct {
	Target string
	Rels   []string // lower-cased
}

// parseLinks parses every Link header value. Each value may hold several
// comma-separated link-values; parameters may be tokens or quoted strings
// (which may contain commas and semicolons). Malformed link-values are
// skipped, never fatal.
func parseLinks(values []string) []link {
	var links []link
	for _, v := range values {
		p := scanner{s: v}
		for {
			p.skip(" \t,")
			if p.done() {
				break
			}
			if p.peek() != '<' {
				p.skipElement()
				continue
			}
			end := strings.IndexByte(p.s[p.i+1:], '>')
			if end < 0 {
				break
			}
			l := link{Target: strings.TrimSpace(p.s[p.i+1 : p.i+1+end])}
			p.i += end + 2
			relSeen := false
			for {
				p.skip(" \t")
				if p.done() || p.peek() != ';' {
					break
				}
				p.i++
				name, value, ok := p.param()
				if !ok {
					break
				}
				// RFC 8288 §3.3: occurrences of rel after the first are ignored.
				if strings.EqualFold(name, "rel") && !relSeen {
					relSeen = true
					for _, r := range strings.Fields(value) {
						l.Rels = append(l.Rels, strings.ToLower(r))
					}
				}
			}
			links = append(links, l)
			p.skipElement()
		}
	}
	return links
}

// linkTarget returns the first link with relation rel, resolved against
// base (the request URL), or "" if there is none or it does not parse.
func linkTarget(links []link, rel string, base *url.URL) string {
	for _, l := range links {
		for _, r := range l.Rels {
			if r != rel {
				continue
			}
			u, err := base.Parse(l.Target)
			if err != nil {
				return ""
			}
			u.Fragment, u.RawFragment = "", ""
			return u.String()
		}
	}
	return ""
}

// challenge is one WWW-Authenticate challenge (RFC 9110 §11.6.1).
type challenge struct {
	Scheme string            // lower-cased
	Params map[string]string // names lower-cased
}

// parseChallenges parses WWW-Authenticate values such as
// `Bearer realm="x", DPoP error="use_dpop_nonce", algs="ES256"`.
func parseChallenges(values []string) []challenge {
	var out []challenge
	for _, v := range values {
		p := scanner{s: v}
		for {
			p.skip(" \t,")
			if p.done() {
				break
			}
			scheme := p.token()
			if scheme == "" {
				p.skipElement()
				continue
			}
			c := challenge{Scheme: strings.ToLower(scheme), Params: map[string]string{}}
			for {
				save := p.i
				p.skip(" \t,")
				name := p.token()
				p.skip(" \t")
				if name == "" || p.done() || p.peek() != '=' {
					// Not an auth-param: the next challenge's scheme, or
					// a token68 we have no use for.
					p.i = save
					break
				}
				p.i++ // '='
				p.skip(" \t")
				c.Params[strings.ToLower(name)] = p.value()
			}
			out = append(out, c)
		}
	}
	return out
}

type scanner struct {
	s string
	i int
}

func (p *scanner) done() bool { return p.i >= len(p.s) }
func (p *scanner) peek() byte { return p.s[p.i] }

func (p *scanner) skip(set string) {
	for !p.done() && strings.IndexByte(set, p.peek()) >= 0 {
		p.i++
	}
}

// skipElement moves past the next comma that is not inside a quoted string
// or angle brackets.
func (p *scanner) skipElement() {
	for !p.done() {
		switch p.peek() {
		case ',':
			p.i++
			return
		case '"':
			p.quoted()
		case '<':
			if end := strings.IndexByte(p.s[p.i:], '>'); end >= 0 {
				p.i += end + 1
			} else {
				p.i = len(p.s)
			}
		default:
			p.i++
		}
	}
}

func isTokenChar(c byte) bool {
	if c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' {
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

func (p *scanner) token() string {
	start := p.i
	for !p.done() && isTokenChar(p.peek()) {
		p.i++
	}
	return p.s[start:p.i]
}

// quoted reads a quoted-string starting at '"', unescaping quoted-pairs. An
// unterminated string runs to the end of the input.
func (p *scanner) quoted() string {
	p.i++ // opening quote
	var b strings.Builder
	for !p.done() {
		c := p.peek()
		p.i++
		switch c {
		case '\\':
			if !p.done() {
				b.WriteByte(p.peek())
				p.i++
			}
		case '"':
			return b.String()
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// value reads a token or a quoted-string.
func (p *scanner) value() string {
	if !p.done() && p.peek() == '"' {
		return p.quoted()
	}
	return p.token()
}

// param reads `name [= value]` after a ';'.
func (p *scanner) param() (name, value string, ok bool) {
	p.skip(" \t")
	name = p.token()
	if name == "" {
		return "", "", false
	}
	p.skip(" \t")
	if !p.done() && p.peek() == '=' {
		p.i++
		p.skip(" \t")
		value = p.value()
	}
	return name, value, true
}
