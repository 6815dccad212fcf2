package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// decoder turns an expanded YAML node tree into a Config, strictly: unknown
// and duplicate keys, and values of the wrong kind or syntax, are problems
// at their key path. Range and cross-field checks are validate's job.
type decoder struct {
	ps *problems
	x  *expansion
	m  *meta
}

// meta is what decoding learned that validation needs besides the Config.
type meta struct {
	tenants []tenantMeta
	// expanded maps the path of every value a variable was substituted
	// into to its text as written, so messages never show env values.
	expanded map[string]string
}

type tenantMeta struct {
	poll  map[string]bool // poll keys the tenant sets (overrides)
	extra []string        // the tenant's own extra_event_types
	auth  map[string]bool // auth keys present
	// contacts are the tenant's own contacts (before the top-level ones
	// are added).
	contacts Contacts
	// responseAuth: response.auth keys present (nil without response.auth)
	responseAuth map[string]bool
}

// field decodes the value node n at path into a destination it captured.
type field func(n *yaml.Node, path string)

// decode builds the Config: Default, then the top-level keys, then each
// tenant with the top-level poll block as its starting point.
func (d *decoder) decode(root *yaml.Node) *Config {
	c := Default()
	var tenants *yaml.Node
	d.mapping(root, "", map[string]field{
		"clickhouse": func(n *yaml.Node, p string) { d.clickHouse(n, p, &c.ClickHouse) },
		"poll":       func(n *yaml.Node, p string) { d.poll(n, p, &c.Poll) },
		"tenants":    func(n *yaml.Node, _ string) { tenants = n },
		"http": func(n *yaml.Node, p string) {
			d.mapping(n, p, map[string]field{"listen": d.str(&c.HTTP.Listen)})
		},
		"api":   func(n *yaml.Node, p string) { d.api(n, p, &c.API) },
		"score": func(n *yaml.Node, p string) { d.score(n, p, &c.Score) },
		"memory": func(n *yaml.Node, p string) {
			d.mapping(n, p, map[string]field{
				"pages_in_flight": d.integer(&c.Memory.PagesInFlight),
				"attribution_mib": d.integer(&c.Memory.AttributionMiB),
				"limit_mib":       d.integer(&c.Memory.LimitMiB),
				"gc_percent":      d.integer(&c.Memory.GCPercent),
			})
		},
		"privacy":   func(n *yaml.Node, p string) { d.privacy(n, p, &c.Privacy) },
		"retention": func(n *yaml.Node, p string) { d.retention(n, p, c.Retention) },
		"log": func(n *yaml.Node, p string) {
			d.mapping(n, p, map[string]field{"format": d.str(&c.Log.Format), "level": d.str(&c.Log.Level)})
		},
		"reload": func(n *yaml.Node, p string) {
			d.mapping(n, p, map[string]field{"watch": d.boolean(&c.Reload.Watch), "debounce": d.duration(&c.Reload.Debounce)})
		},
		"notify":   func(n *yaml.Node, p string) { d.notify(n, p, &c.Notify) },
		"contacts": func(n *yaml.Node, p string) { d.contacts(n, p, &c.Contacts) },
	})
	if tenants != nil {
		d.tenants(tenants, "tenants", &c)
	}
	return &c
}

func (d *decoder) clickHouse(n *yaml.Node, path string, ch *ClickHouse) {
	d.mapping(n, path, map[string]field{
		"addr":           d.str(&ch.Addr),
		"database":       d.str(&ch.Database),
		"username":       d.str(&ch.Username),
		"password":       d.secret(&ch.Password),
		"managed":        d.boolean(&ch.Managed),
		"data_dir":       d.str(&ch.DataDir),
		"dial_timeout":   d.duration(&ch.DialTimeout),
		"write_timeout":  d.duration(&ch.WriteTimeout),
		"batch_max_rows": d.integer(&ch.BatchMaxRows),
		"batch_max_wait": d.duration(&ch.BatchMaxWait),
	})
}

// poll decodes a poll block over p: keys it does not set keep p's values.
// extra_event_types replaces p's list. It returns the keys set.
func (d *decoder) poll(n *yaml.Node, path string, p *Poll) map[string]bool {
	return d.mapping(n, path, map[string]field{
		"interval":          d.duration(&p.Interval),
		"page_limit":        d.integer(&p.PageLimit),
		"rate_limit_share":  d.number(&p.RateLimitShare),
		"request_timeout":   d.duration(&p.RequestTimeout),
		"extra_event_types": d.strings(&p.ExtraEventTypes),
	})
}

func (d *decoder) tenants(n *yaml.Node, path string, c *Config) {
	if n.Kind != yaml.SequenceNode {
		d.ps.addf(path, "expected a list of tenants, got %s", kindName(n))
		return
	}
	for i, item := range n.Content {
		p := indexPath(path, i)
		t := Tenant{Poll: c.Poll, Response: DefaultResponse()}
		t.Poll.ExtraEventTypes = nil
		var tm tenantMeta
		var poll *yaml.Node
		d.mapping(resolve(item), p, map[string]field{
			"name":        d.str(&t.Name),
			"description": d.str(&t.Description),
			"base_url":    d.str(&t.BaseURL),
			"auth":        func(n *yaml.Node, p string) { tm.auth = d.auth(n, p, &t.Auth) },
			"poll":        func(n *yaml.Node, _ string) { poll = n },
			"enabled":     d.boolPtr(&t.Enabled),
			"contacts":    func(n *yaml.Node, p string) { d.contacts(n, p, &tm.contacts) },
			"response":    func(n *yaml.Node, p string) { tm.responseAuth = d.response(n, p, &t.Response) },
		})
		if poll != nil {
			tm.poll = d.poll(poll, keyPath(p, "poll"), &t.Poll)
		}
		// A tenant's extra_event_types add to the top-level list.
		tm.extra = t.Poll.ExtraEventTypes
		t.Poll.ExtraEventTypes = concat(c.Poll.ExtraEventTypes, tm.extra)
		t.Contacts = mergeContacts(c.Contacts, tm.contacts)
		c.Tenants = append(c.Tenants, t)
		d.m.tenants = append(d.m.tenants, tm)
	}
}

func (d *decoder) api(n *yaml.Node, path string, a *API) {
	d.mapping(n, path, map[string]field{
		"stall_after": d.duration(&a.StallAfter),
		"tokens":      func(n *yaml.Node, p string) { d.apiTokens(n, p, &a.Tokens) },
	})
}

func (d *decoder) apiTokens(n *yaml.Node, path string, dst *[]APIToken) {
	if n.Kind != yaml.SequenceNode {
		d.ps.addf(path, "expected a list of tokens, got %s", kindName(n))
		return
	}
	var list []APIToken
	for i, item := range n.Content {
		var t APIToken
		d.mapping(resolve(item), indexPath(path, i), map[string]field{
			"name":    d.str(&t.Name),
			"token":   d.secret(&t.Token),
			"tenants": d.strings(&t.Tenants),
			"roles":   d.roles(&t.Roles),
		})
		list = append(list, t)
	}
	*dst = list
}

// roles decodes a list of role names; values are checked by validate.
func (d *decoder) roles(dst *[]Role) field {
	var names []string
	get := d.strings(&names)
	return func(n *yaml.Node, path string) {
		get(n, path)
		if names == nil {
			return
		}
		list := make([]Role, len(names))
		for i, s := range names {
			list[i] = Role(s)
		}
		*dst = list
	}
}

func (d *decoder) auth(n *yaml.Node, path string, a *Auth) map[string]bool {
	return d.mapping(n, path, map[string]field{
		"method":           d.str(&a.Method),
		"token":            d.secret(&a.Token),
		"client_id":        d.str(&a.ClientID),
		"client_secret":    d.secret(&a.ClientSecret),
		"private_key_file": d.str(&a.PrivateKeyFile),
		"private_key":      d.secret(&a.PrivateKey),
		"key_id":           d.str(&a.KeyID),
		"scopes":           d.strings(&a.Scopes),
		"dpop":             d.str(&a.DPoP),
	})
}

// mapping decodes the mapping n with one field per known key. It reports
// unknown and duplicate keys, skips null values (a key set to null or left
// empty keeps its default) and values whose expansion failed, and returns
// the keys present with a non-null value. A nil or null n is an empty
// mapping.
func (d *decoder) mapping(n *yaml.Node, path string, fields map[string]field) map[string]bool {
	present := map[string]bool{}
	if n == nil || isNull(n) {
		return present
	}
	if n.Kind != yaml.MappingNode {
		d.ps.addf(path, "expected a mapping, got %s", kindName(n))
		return present
	}
	lines := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], resolve(n.Content[i+1])
		name := keyName(k)
		p := keyPath(path, name)
		if line, dup := lines[name]; dup {
			d.ps.addf(p, "duplicate key (first set on line %d)", line)
			continue
		}
		lines[name] = k.Line
		f, known := fields[name]
		if !known {
			d.ps.add(p, "unknown key")
			continue
		}
		if isNull(v) {
			continue
		}
		present[name] = true
		if d.x.failed[v] {
			continue
		}
		if orig, ok := d.x.orig[v]; ok {
			d.m.expanded[p] = orig
		}
		f(v, p)
	}
	return present
}

// scalar returns the text of n, or reports that n is not a scalar.
func (d *decoder) scalar(n *yaml.Node, path, want string) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		d.ps.addf(path, "expected %s, got %s", want, kindName(n))
		return "", false
	}
	return n.Value, true
}

// quote shows the value of n in a message: quoted as written, and never a
// value that came from the environment.
func (d *decoder) quote(n *yaml.Node) string {
	if orig, ok := d.x.orig[n]; ok {
		return strconv.Quote(orig) + " (expanded value not shown)"
	}
	return strconv.Quote(n.Value)
}

func (d *decoder) str(dst *string) field {
	return func(n *yaml.Node, path string) {
		if s, ok := d.scalar(n, path, "a string"); ok {
			*dst = s
		}
	}
}

func (d *decoder) secret(dst *Secret) field {
	return func(n *yaml.Node, path string) {
		if s, ok := d.scalar(n, path, "a string"); ok {
			*dst = Secret(s)
		}
	}
}

func (d *decoder) duration(dst *time.Duration) field {
	return func(n *yaml.Node, path string) {
		s, ok := d.scalar(n, path, "a duration")
		if !ok {
			return
		}
		v, err := time.ParseDuration(s)
		if err != nil {
			d.ps.add(path, "invalid duration "+d.quote(n))
			return
		}
		*dst = v
	}
}

func (d *decoder) integer(dst *int) field {
	return func(n *yaml.Node, path string) {
		s, ok := d.scalar(n, path, "an integer")
		if !ok {
			return
		}
		v, err := strconv.Atoi(s)
		if err != nil {
			d.ps.add(path, "invalid integer "+d.quote(n))
			return
		}
		*dst = v
	}
}

func (d *decoder) number(dst *float64) field {
	return func(n *yaml.Node, path string) {
		s, ok := d.scalar(n, path, "a number")
		if !ok {
			return
		}
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			d.ps.add(path, "invalid number "+d.quote(n))
			return
		}
		*dst = v
	}
}

func (d *decoder) boolean(dst *bool) field {
	return func(n *yaml.Node, path string) {
		if b, ok := d.parseBool(n, path); ok {
			*dst = b
		}
	}
}

func (d *decoder) boolPtr(dst **bool) field {
	return func(n *yaml.Node, path string) {
		if b, ok := d.parseBool(n, path); ok {
			*dst = &b
		}
	}
}

// parseBool accepts true and false in any case (YAML 1.2), not yes/no/on/off.
func (d *decoder) parseBool(n *yaml.Node, path string) (bool, bool) {
	s, ok := d.scalar(n, path, "true or false")
	if !ok {
		return false, false
	}
	switch strings.ToLower(s) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	d.ps.add(path, "invalid boolean "+d.quote(n)+" (want true or false)")
	return false, false
}

// strings decodes a list of strings; an empty list is nil. An item that
// fails becomes "" so later items keep their index in messages.
func (d *decoder) strings(dst *[]string) field {
	return func(n *yaml.Node, path string) {
		if n.Kind != yaml.SequenceNode {
			d.ps.addf(path, "expected a list of strings, got %s", kindName(n))
			return
		}
		var list []string
		for i, item := range n.Content {
			p := indexPath(path, i)
			item = resolve(item)
			s, ok := "", false
			switch {
			case d.x.failed[item]:
			case isNull(item):
				d.ps.add(p, "expected a string, got null")
			default:
				if orig, exp := d.x.orig[item]; exp {
					d.m.expanded[p] = orig
				}
				s, ok = d.scalar(item, p, "a string")
			}
			if !ok {
				s = ""
			}
			list = append(list, s)
		}
		*dst = list
	}
}

// resolve follows aliases to the node they name.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 100; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// keyName is the text of a mapping key; non-scalar keys are never known.
func keyName(k *yaml.Node) string {
	if k.Kind != yaml.ScalarNode {
		return "(" + kindName(k) + ")"
	}
	return k.Value
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if isNull(n) {
			return "null"
		}
		return "a scalar"
	case yaml.AliasNode:
		return "an alias"
	default:
		return fmt.Sprintf("a YAML node of kind %d", n.Kind)
	}
}

// concat returns a new slice holding a then b, or nil when both are empty.
func concat(a, b []string) []string {
	if len(a)+len(b) == 0 {
		return nil
	}
	out := make([]string, 0, len(a)+len(b))
	return append(append(out, a...), b...)
}
