package notify

import (
	"fmt"
	"html"
	"net/url"
	"strings"
	"time"
)

// Message is one rendered notification, the same for every recipient. It is
// stored in notifications.body (JSON) so a pending message survives a
// restart. It holds no secrets and no raw events: the org, what happened,
// when, the users concerned with score, level and explanation, and links.
type Message struct {
	Tenant  string    `json:"tenant"`
	Kind    Kind      `json:"kind"`
	At      time.Time `json:"at"`
	Subject string    `json:"subject"`
	Lines   []string  `json:"lines"` // what happened, one sentence each
	Users   []User    `json:"users,omitempty"`
	Link    string    `json:"link,omitempty"` // the org's dashboard page
	// Keys are the dedup keys of the findings the message covers.
	Keys []string `json:"keys"`
}

// render builds the message of findings of one kind of one tenant.
func render(fs []Finding, dashboard string) Message {
	f := fs[0]
	m := Message{Tenant: f.Tenant, Kind: f.Kind, At: f.At.UTC()}
	seen := map[string]bool{}
	for _, x := range fs {
		m.Keys = append(m.Keys, x.Key)
		if x.At.After(m.At) {
			m.At = x.At.UTC()
		}
		if x.Detail != "" && x.Kind != KindUserCritical {
			m.Lines = append(m.Lines, x.Detail)
		}
		for _, u := range x.Users {
			if !seen[u.ID] {
				seen[u.ID] = true
				m.Users = append(m.Users, u)
			}
		}
	}
	switch f.Kind {
	case KindAttackStarted:
		m.Subject = "ThreatInsight attack on " + f.Tenant + " started"
	case KindAttackEnded:
		m.Subject = "ThreatInsight attack on " + f.Tenant + " ended"
	case KindUserCritical:
		n := len(m.Users)
		m.Subject = fmt.Sprintf("%d user%s of %s reached a critical attack factor", n, plural(n), f.Tenant)
		m.Lines = append(m.Lines, fmt.Sprintf("%d user%s of %s reached the critical level of riskpipe's attack factor (how much a user is attacked, 0-100).", n, plural(n), f.Tenant))
	case KindCriticalIncident:
		m.Subject = "Critical security incident in " + f.Tenant
	case KindIntegrationFailing:
		m.Subject = "riskpipe cannot read the Okta System Log of " + f.Tenant
	case KindContactsChanged:
		m.Subject = "Security contacts of " + f.Tenant + " changed"
	case KindContactsReview:
		m.Subject = "Please review the security contacts of " + f.Tenant
	case KindTest:
		m.Subject = "riskpipe test message for " + f.Tenant
	case KindActionPending:
		n := len(fs)
		m.Subject = fmt.Sprintf("%d response action%s in %s wait%s for approval", n, plural(n), f.Tenant, map[bool]string{true: "s", false: ""}[n == 1])
		m.Lines = append(m.Lines, "Approve or reject on the dashboard (a token with the respond role); following a link approves nothing.")
	case KindResponseBudget:
		m.Subject = "Response actions in " + f.Tenant + " wait: the hourly budget is spent"
	default:
		m.Subject = string(f.Kind) + " in " + f.Tenant
	}
	if dashboard != "" {
		m.Link = dashboard + "/#/org/" + url.PathEscape(f.Tenant)
	}
	return m
}

// digest is the message folding the subjects of messages over max_per_hour.
func digest(tenant string, subjects []string, at time.Time, dashboard string, perHour int) Message {
	m := Message{Tenant: tenant, Kind: KindDigest, At: at.UTC(),
		Subject: fmt.Sprintf("riskpipe digest: %d more notification%s", len(subjects), plural(len(subjects))),
		Lines: append([]string{fmt.Sprintf("You received %d notifications within an hour (notify.max_per_hour); these %d were folded into this digest:",
			perHour, len(subjects))}, subjects...)}
	if dashboard != "" {
		m.Link = dashboard + "/"
	}
	return m
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// userLink is a user's dashboard page.
func (m Message) userLink(u User, dashboard string) string {
	if dashboard == "" {
		return ""
	}
	return dashboard + "/#/user/" + url.PathEscape(m.Tenant) + "/" + url.PathEscape(u.ID)
}

func (m Message) dashboard() string {
	if i := strings.Index(m.Link, "/#/"); i >= 0 {
		return m.Link[:i]
	}
	return strings.TrimSuffix(m.Link, "/")
}

func userLine(u User) string {
	return fmt.Sprintf("%s: score %.0f (%s, percentile %.0f): %s", nameOf(u), u.Score, u.Level, u.Percentile, u.Explanation)
}

// Text is the plain-text body.
func (m Message) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\nOrg: %s\nWhen: %s\n\n", m.Subject, m.Tenant, fmtTime(m.At))
	for _, l := range m.Lines {
		b.WriteString(l + "\n")
	}
	if len(m.Users) > 0 {
		b.WriteString("\nUsers:\n")
		for _, u := range m.Users {
			b.WriteString("- " + userLine(u))
			if l := m.userLink(u, m.dashboard()); l != "" {
				b.WriteString("\n  " + l)
			}
			b.WriteString("\n")
		}
	}
	if m.Link != "" {
		b.WriteString("\nDashboard: " + m.Link + "\n")
	}
	b.WriteString("\n-- \nSent by riskpipe to the org's security contacts (docs/notifications.md).\n")
	return b.String()
}

// HTML is the HTML body (the same content as Text).
func (m Message) HTML() string {
	e := html.EscapeString
	var b strings.Builder
	b.WriteString(`<!doctype html><html><body style="font-family:sans-serif">`)
	fmt.Fprintf(&b, "<h2>%s</h2><p><b>Org:</b> %s<br><b>When:</b> %s</p>", e(m.Subject), e(m.Tenant), e(fmtTime(m.At)))
	for _, l := range m.Lines {
		fmt.Fprintf(&b, "<p>%s</p>", e(l))
	}
	if len(m.Users) > 0 {
		b.WriteString("<table border=\"1\" cellpadding=\"4\" style=\"border-collapse:collapse\"><tr><th>User</th><th>Score</th><th>Level</th><th>Percentile</th><th>Why</th></tr>")
		for _, u := range m.Users {
			name := e(nameOf(u))
			if l := m.userLink(u, m.dashboard()); l != "" {
				name = `<a href="` + e(l) + `">` + name + `</a>`
			}
			fmt.Fprintf(&b, "<tr><td>%s</td><td>%.0f</td><td>%s</td><td>%.0f</td><td>%s</td></tr>", name, u.Score, e(u.Level), u.Percentile, e(u.Explanation))
		}
		b.WriteString("</table>")
	}
	if m.Link != "" {
		fmt.Fprintf(&b, `<p><a href="%s">Open the dashboard</a></p>`, e(m.Link))
	}
	b.WriteString("<p style=\"color:#666\">Sent by riskpipe to the org's security contacts.</p></body></html>")
	return b.String()
}

// slack is the Slack incoming-webhook payload.
func (m Message) slack() any {
	text := "*" + m.Subject + "*\n" + m.Text()
	return map[string]any{"text": text}
}

// teams is the Adaptive Card payload of a Teams Workflows webhook.
func (m Message) teams() any {
	body := []any{
		map[string]any{"type": "TextBlock", "text": m.Subject, "weight": "Bolder", "size": "Medium", "wrap": true},
		map[string]any{"type": "TextBlock", "text": "Org: " + m.Tenant + " · " + fmtTime(m.At), "isSubtle": true, "wrap": true},
	}
	for _, l := range m.Lines {
		body = append(body, map[string]any{"type": "TextBlock", "text": l, "wrap": true})
	}
	for _, u := range m.Users {
		body = append(body, map[string]any{"type": "TextBlock", "text": "- " + userLine(u), "wrap": true})
	}
	card := map[string]any{"type": "AdaptiveCard", "$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "version": "1.4", "body": body}
	if m.Link != "" {
		card["actions"] = []any{map[string]any{"type": "Action.OpenUrl", "title": "Open the dashboard", "url": m.Link}}
	}
	return map[string]any{"type": "message", "attachments": []any{
		map[string]any{"contentType": "application/vnd.microsoft.card.adaptive", "content": card}}}
}

// jsonPayload is the body of a json webhook (Standard Webhooks layout:
// type, timestamp, data).
func (m Message) jsonPayload(id string) any {
	return map[string]any{"type": "riskpipe.notification." + string(m.Kind), "timestamp": m.At.Format(time.RFC3339),
		"data": map[string]any{"notification_id": id, "tenant": m.Tenant, "kind": m.Kind, "subject": m.Subject,
			"lines": m.Lines, "users": m.Users, "link": m.Link}}
}
