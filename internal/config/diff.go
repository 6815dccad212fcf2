package config

import (
	"crypto"
	"fmt"
	"reflect"
	"slices"
	"strings"
)

// TenantChange is what applying a new configuration does to one tenant.
// The set is closed.
type TenantChange string

const (
	// TenantAdded: a new name, enabled: its poller starts (a first start
	// records the integration time and polls forward from then).
	TenantAdded TenantChange = "added"
	// TenantEnabled: an existing tenant that was disabled is enabled: its
	// poller starts from its stored cursor (or integrates, if it never ran).
	TenantEnabled TenantChange = "enabled"
	// TenantRemoved: the name is gone; its poller drains and stops. Its
	// data and cursor stay in ClickHouse.
	TenantRemoved TenantChange = "removed"
	// TenantDisabled: enabled: false; its poller drains and stops.
	TenantDisabled TenantChange = "disabled"
	// TenantRestarted: a setting of its poller changed (poll.interval,
	// poll.page_limit, poll.extra_event_types, or score.*): the poller
	// drains and starts again from its stored cursor.
	TenantRestarted TenantChange = "restarted"
	// TenantClient: only how it talks to Okta changed (auth: a rotated
	// token, client secret or key; poll.rate_limit_share,
	// poll.request_timeout): the next request uses the new client, the
	// poller is not interrupted.
	TenantClient TenantChange = "client"
	// TenantSettings: its contacts or response settings changed (and
	// nothing of its poller or client): the notifier and the response
	// service take them at once, the poller is not interrupted.
	TenantSettings TenantChange = "settings"
	// TenantDescribed: only the description changed.
	TenantDescribed TenantChange = "described"
)

// TenantDiff is one tenant's change, with the keys that caused it.
type TenantDiff struct {
	Name   string
	Change TenantChange
	Keys   []string // relative to the tenant: "auth", "poll.interval"
}

// Diff is the difference between a running configuration and a new one.
type Diff struct {
	// Tenants that change, in the new file's order, then removed ones.
	Tenants []TenantDiff
	// Unchanged are the enabled tenants a reload leaves alone.
	Unchanged []string
	// Global are the top-level key paths whose change applies at once
	// (api.tokens, api.stall_after, reload.watch...).
	Global []string
	// Refused are changes that cannot be applied to a running riskpipe;
	// any of them refuses the whole reload.
	Refused []Problem
}

// Empty reports whether the new configuration changes nothing.
func (d Diff) Empty() bool {
	return len(d.Tenants) == 0 && len(d.Global) == 0 && len(d.Refused) == 0
}

// Err returns the refusals as an *Error, or nil.
func (d Diff) Err() error {
	if len(d.Refused) == 0 {
		return nil
	}
	return &Error{Problems: d.Refused}
}

// Summary describes the diff in one line for logs: "added: x; removed: y".
func (d Diff) Summary() string {
	by := map[TenantChange][]string{}
	var order []TenantChange
	for _, t := range d.Tenants {
		if by[t.Change] == nil {
			order = append(order, t.Change)
		}
		by[t.Change] = append(by[t.Change], t.Name)
	}
	var parts []string
	for _, c := range order {
		parts = append(parts, fmt.Sprintf("%s: %s", c, strings.Join(by[c], ", ")))
	}
	if len(d.Global) > 0 {
		parts = append(parts, "changed: "+strings.Join(d.Global, ", "))
	}
	if len(parts) == 0 {
		return "no changes"
	}
	return strings.Join(parts, "; ")
}

// Compare computes what applying next to a process running cur would do.
// Both must be valid (Load or Parse). Secrets are compared, never printed.
//
// Refused: any clickhouse.*, http.*, memory.* or log.* change (the process
// holds the connection, listener, budgets and logger it started with: they
// need a restart), a tenant whose base_url changed (its cursor belongs
// to the old org: give the new org a new tenant name), and turning
// notifications on or off (the notifier runs only when a channel was
// configured at start). Other notify.*, contacts and tenants[].contacts
// and tenants[].response changes apply at once (the notifier's and the
// response service's Apply).
func Compare(cur, next *Config) Diff {
	var d Diff
	restartAll := !reflect.DeepEqual(cur.Score, next.Score)
	for _, sec := range []struct {
		key      string
		old, new any
		why      string
	}{
		{"clickhouse", cur.ClickHouse, next.ClickHouse, "riskpipe writes to the ClickHouse it connected to at start: restart riskpipe to change it"},
		{"http", cur.HTTP, next.HTTP, "the listener is opened at start: restart riskpipe to change it"},
		{"memory", cur.Memory, next.Memory, "the memory budgets are set at start: restart riskpipe to change them"},
		{"log", cur.Log, next.Log, "the logger is built at start: restart riskpipe to change it"},
	} {
		for _, k := range changedFields(sec.old, sec.new) {
			d.Refused = append(d.Refused, Problem{Path: sec.key + "." + k, Msg: "changed: " + sec.why})
		}
	}
	if on, was := next.NotifyEnabled(), cur.NotifyEnabled(); on != was {
		why := "changed: no notification channel was configured at start, so no notifier runs: restart riskpipe to turn notifications on"
		if was {
			why = "changed: removing every notification channel would leave messages pending with nowhere to go: restart riskpipe to turn notifications off"
		}
		d.Refused = append(d.Refused, Problem{Path: "notify", Msg: why})
	}
	for _, sec := range []struct {
		key      string
		old, new any
	}{{"notify", cur.Notify, next.Notify}, {"contacts", cur.Contacts, next.Contacts}} {
		for _, k := range changedFields(sec.old, sec.new) {
			d.Global = append(d.Global, sec.key+"."+k)
		}
	}
	if !reflect.DeepEqual(cur.API.Tokens, next.API.Tokens) {
		d.Global = append(d.Global, "api.tokens")
	}
	if cur.API.StallAfter != next.API.StallAfter {
		d.Global = append(d.Global, "api.stall_after")
	}
	if restartAll {
		d.Global = append(d.Global, "score")
	}
	for _, k := range changedFields(cur.Reload, next.Reload) {
		d.Global = append(d.Global, "reload."+k)
	}

	old := map[string]Tenant{}
	for _, t := range cur.Tenants {
		old[t.Name] = t
	}
	seen := map[string]bool{}
	for i, t := range next.Tenants {
		seen[t.Name] = true
		o, existed := old[t.Name]
		switch {
		case !existed:
			if t.IsEnabled() {
				d.Tenants = append(d.Tenants, TenantDiff{Name: t.Name, Change: TenantAdded})
			}
			continue
		case o.BaseURL != t.BaseURL:
			d.Refused = append(d.Refused, Problem{Path: indexPath("tenants", i) + ".base_url",
				Msg: fmt.Sprintf("changed for tenant %s: its stored cursor belongs to the org it polled so far; "+
					"to poll another org add a tenant with a new name (and remove this one)", t.Name)})
			continue
		case o.IsEnabled() && !t.IsEnabled():
			d.Tenants = append(d.Tenants, TenantDiff{Name: t.Name, Change: TenantDisabled, Keys: []string{"enabled"}})
			continue
		case !o.IsEnabled() && t.IsEnabled():
			d.Tenants = append(d.Tenants, TenantDiff{Name: t.Name, Change: TenantEnabled, Keys: []string{"enabled"}})
			continue
		case !t.IsEnabled():
			continue // disabled before and after
		}
		var settings []string
		if !reflect.DeepEqual(o.Contacts, t.Contacts) {
			settings = append(settings, "contacts")
		}
		if !sameResponse(o.Response, t.Response) {
			settings = append(settings, "response")
		}
		var poller, client []string
		for _, k := range changedFields(o.Poll, t.Poll) {
			switch k {
			case "rate_limit_share", "request_timeout":
				client = append(client, "poll."+k)
			default:
				poller = append(poller, "poll."+k)
			}
		}
		if !sameAuth(o.Auth, t.Auth) {
			client = append(client, "auth")
		}
		if restartAll {
			poller = append(poller, "score")
		}
		switch {
		case len(poller) > 0:
			d.Tenants = append(d.Tenants, TenantDiff{Name: t.Name, Change: TenantRestarted, Keys: slices.Concat(poller, client, settings)})
		case len(client) > 0:
			d.Tenants = append(d.Tenants, TenantDiff{Name: t.Name, Change: TenantClient, Keys: append(client, settings...)})
		case len(settings) > 0:
			d.Tenants = append(d.Tenants, TenantDiff{Name: t.Name, Change: TenantSettings, Keys: settings})
		case o.Description != t.Description:
			d.Tenants = append(d.Tenants, TenantDiff{Name: t.Name, Change: TenantDescribed, Keys: []string{"description"}})
		default:
			d.Unchanged = append(d.Unchanged, t.Name)
		}
	}
	for _, t := range cur.Tenants {
		if !seen[t.Name] && t.IsEnabled() {
			d.Tenants = append(d.Tenants, TenantDiff{Name: t.Name, Change: TenantRemoved})
		}
	}
	return d
}

// changedFields lists the yaml keys of the struct fields that differ
// between a and b (same struct type).
func changedFields(a, b any) []string {
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	var out []string
	for i := range va.NumField() {
		f := va.Type().Field(i)
		if !f.IsExported() {
			continue
		}
		if !reflect.DeepEqual(va.Field(i).Interface(), vb.Field(i).Interface()) {
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if name == "" || name == "-" {
				name = strings.ToLower(f.Name)
			}
			out = append(out, name)
		}
	}
	return out
}

// sameAuth compares two tenants' credentials: the keys as written and the
// parsed private key (a key file replaced under the same name is a
// rotation too).
func sameAuth(a, b Auth) bool {
	sa, sb := a.Signer, b.Signer
	a.Signer, b.Signer = nil, nil
	if !reflect.DeepEqual(a, b) || (sa == nil) != (sb == nil) {
		return false
	}
	if sa == nil {
		return true
	}
	pa, ok := sa.Public().(interface{ Equal(crypto.PublicKey) bool })
	return ok && pa.Equal(sb.Public())
}

// TenantNames returns the names of the enabled tenants.
func (c *Config) TenantNames() []string {
	var out []string
	for _, t := range c.Tenants {
		if t.IsEnabled() {
			out = append(out, t.Name)
		}
	}
	return slices.Clip(out)
}

// Tenant returns the named tenant.
func (c *Config) Tenant(name string) (Tenant, bool) {
	for _, t := range c.Tenants {
		if t.Name == name {
			return t, true
		}
	}
	return Tenant{}, false
}

// sameResponse compares two response blocks, their write credentials as
// sameAuth does.
func sameResponse(a, b Response) bool {
	aa, ba := a.Auth, b.Auth
	a.Auth, b.Auth = nil, nil
	if !reflect.DeepEqual(a, b) || (aa == nil) != (ba == nil) {
		return false
	}
	return aa == nil || sameAuth(*aa, *ba)
}

// NotifyEnabled reports whether a notification channel is configured (an
// SMTP host or a webhook): without one no notifier runs.
func (c *Config) NotifyEnabled() bool {
	return c.Notify.SMTP.Host != "" || len(c.Notify.Webhooks) > 0
}

// SameAuth reports whether two credentials are the same (the keys as
// written and the parsed private key); see Compare.
func SameAuth(a, b Auth) bool { return sameAuth(a, b) }
