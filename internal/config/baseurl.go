package config

import (
	"net/netip"
	"net/url"
	"strings"
)

// checkBaseURL validates a tenant's base_url and returns it without
// trailing slashes, or a problem message. Any https host is accepted
// (okta.com, oktapreview.com, okta-emea.com, custom domains); http only
// for loopback hosts, where the simulator runs. A path is allowed (the
// simulator serves orgs under prefixes such as /o/acme); user info, a
// query and a fragment are not. Messages never echo the URL.
func checkBaseURL(raw string) (string, string) {
	if raw == "" {
		return "", "required"
	}
	u, err := url.Parse(raw)
	if err != nil || u.Opaque != "" {
		return "", "not a valid URL"
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !isLoopback(u.Hostname()) {
			return "", "http is allowed only for loopback hosts (localhost, 127.0.0.0/8, ::1); use https"
		}
	case "":
		return "", "must be an absolute URL such as https://acme.okta.com"
	default:
		return "", "scheme must be https (or http for a loopback host)"
	}
	switch {
	case u.Hostname() == "":
		return "", "must have a host"
	case u.User != nil:
		return "", "must not contain user info"
	case u.RawQuery != "" || u.ForceQuery:
		return "", "must not have a query"
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return "", "must not have a fragment"
	}
	return strings.TrimRight(raw, "/"), ""
}

// isLoopback reports whether host is localhost or a loopback IP address
// (127.0.0.0/8, ::1).
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}
