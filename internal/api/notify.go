package api

import (
	"cmp"
	"errors"
	"net/http"
	"slices"

	"github.com/riskpipe/riskpipe/internal/config"
	"github.com/riskpipe/riskpipe/internal/notify"
)

// ContactTest is the answer of POST /api/v1/orgs/{org}/contacts/test.
type ContactTest struct {
	Tenant     string            `json:"tenant"`
	Deliveries []notify.Delivery `json:"deliveries"`
}

// NotificationList is the answer of GET /api/v1/notifications.
type NotificationList struct {
	// Notifications are one row per message and recipient, newest first.
	// stalled is true for a message still pending 15 minutes after it was
	// created (SMTP or a webhook failing; see last_error).
	Notifications []notify.Row `json:"notifications"`
}

func (a *API) notifyRoutes() []route {
	return []route{
		{method: "GET", pattern: "/api/v1/orgs/{org}/contacts", auth: true, role: config.RoleAdmin, handler: a.handle(a.getContacts), doc: opDoc{
			id: "getContacts", summary: "An org's security contacts (primary_security, cio_ciso, it), when they were applied and last reviewed, and when a review reminder is due.",
			description: "Okta has no API to read an org's Primary Security or CIO/CISO contacts: they are configured in riskpipe " +
				"(config contacts and tenants[].contacts, docs/notifications.md).",
			params: []param{orgPathParam}, response: notify.ContactView{},
		}},
		{method: "POST", pattern: "/api/v1/orgs/{org}/contacts/review", auth: true, role: config.RoleAdmin, handler: a.handle(a.reviewContacts), doc: opDoc{
			id: "reviewContacts", summary: "Record that the token's owner reviewed the org's contacts now (ends the review reminders).",
			params: []param{orgPathParam}, response: notify.ContactView{},
		}},
		{method: "POST", pattern: "/api/v1/orgs/{org}/contacts/test", auth: true, role: config.RoleAdmin, handler: a.handle(a.testContacts), doc: opDoc{
			id: "testContacts", summary: "Send a test message to every contact and channel of the org and report each delivery.",
			params: []param{orgPathParam}, response: ContactTest{},
		}},
		{method: "GET", pattern: "/api/v1/notifications", auth: true, role: config.RoleAdmin, handler: a.handle(a.listNotifications), doc: opDoc{
			id: "listNotifications", summary: "The notification history of the orgs named (default all the token may use), newest first, with delivery status.",
			params: []param{orgsParam, limitParam(200, 1000)}, response: NotificationList{},
		}},
	}
}

var errNoNotify = &httpError{status: http.StatusServiceUnavailable, msg: "notifications are not available in this process"}

// notifyErr maps the notify package's errors to answers.
func notifyErr(err error) error {
	if errors.Is(err, notify.ErrUnknownTenant) {
		return &httpError{status: http.StatusNotFound, msg: "no such org"}
	}
	return err
}

func (a *API) getContacts(r *http.Request) (any, error) {
	org, err := pathOrg(r)
	if err != nil {
		return nil, err
	}
	if a.s.Notify == nil {
		return nil, errNoNotify
	}
	v, err := a.s.Notify.Contacts(r.Context(), org)
	return v, notifyErr(err)
}

func (a *API) reviewContacts(r *http.Request) (any, error) {
	org, err := pathOrg(r)
	if err != nil {
		return nil, err
	}
	if a.s.Notify == nil {
		return nil, errNoNotify
	}
	v, err := a.s.Notify.Review(r.Context(), org, "api:"+principalFrom(r.Context()).name)
	return v, notifyErr(err)
}

func (a *API) testContacts(r *http.Request) (any, error) {
	org, err := pathOrg(r)
	if err != nil {
		return nil, err
	}
	if a.s.Notify == nil {
		return nil, errNoNotify
	}
	ds, err := a.s.Notify.Test(r.Context(), org)
	if err != nil {
		return nil, notifyErr(err)
	}
	return ContactTest{Tenant: org, Deliveries: ds}, nil
}

func (a *API) listNotifications(r *http.Request) (any, error) {
	orgs, err := queryOrgs(r)
	if err != nil {
		return nil, err
	}
	limit, err := intParam(r, "limit", 200, 1, 1000)
	if err != nil {
		return nil, err
	}
	if a.s.Notify == nil {
		return nil, errNoNotify
	}
	out := []notify.Row{}
	for _, org := range orgs {
		rows, err := a.s.Notify.History(r.Context(), org, limit)
		if err != nil {
			return nil, notifyErr(err)
		}
		out = append(out, rows...)
	}
	slices.SortStableFunc(out, func(x, y notify.Row) int { return cmp.Compare(y.CreatedAt.UnixNano(), x.CreatedAt.UnixNano()) })
	if len(out) > limit {
		out = out[:limit]
	}
	return NotificationList{Notifications: out}, nil
}
