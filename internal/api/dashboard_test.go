package api

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/poll"
)

// chartDrawn is JavaScript that says whether the canvas found by sel holds
// a Chart.js chart with data, drawn at a non-zero size.
func chartDrawn(sel string) string {
	return `(() => {
  const c = document.querySelector(` + "`" + sel + "`" + `);
  const ch = c && Chart.getChart(c);
  const r = c && c.getBoundingClientRect();
  return !!(ch && c.width > 0 && c.height > 0 && r.width > 0 && r.height > 0 &&
    ch.data.datasets.length > 0 && ch.data.datasets.some(d => d.data.some(v => v > 0)));
})()`
}

func texts(t *testing.T, ctx context.Context, js string) []string {
	t.Helper()
	return value(t, ctx, chromedp.Evaluate[[]string](js))
}

// ready waits until the dashboard has drawn the view named (home, user,
// org, search, login, error...) for the current address.
func ready(view string) chromedp.Action[chromedp.Void] {
	return chromedp.WaitVisible(chromedp.CSS(`body[data-ready="` + view + `"]`))
}

// signIn signs in through the form on the page at url (any deep link) and
// waits for the view.
func signIn(t *testing.T, ctx context.Context, url, token, view string) {
	t.Helper()
	do(t, ctx,
		chromedp.Navigate(url),
		ready("login"),
		chromedp.SendKeys(chromedp.CSS("#token-input"), token),
		chromedp.Click(chromedp.CSS(`#login-form button[type="submit"]`)),
		ready(view),
	)
}

func evalJS[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	return value(t, ctx, chromedp.Evaluate[T](js))
}

// TestDashboardInBrowser loads the dashboard in headless Chromium over the
// fixture in ClickHouse and checks what an analyst sees: the pollers'
// health, the activity chart, the most attacked users with sparklines, and
// a user's page with the score's history, its explanation and the events
// behind it with their raw JSON.
func TestDashboardInBrowser(t *testing.T) {
	e := fixtureEnv(t)
	e.clock.Set(now0.Add(90 * time.Minute))
	e.setStatuses(
		poll.Status{Tenant: "acme", State: "caught_up", IntegratedAt: now0.Add(-72 * time.Hour),
			LastPoll: now0.Add(89 * time.Minute), LastSuccess: now0.Add(89 * time.Minute),
			LastCursorAdvance: now0.Add(85 * time.Minute), NewestPublished: now0.Add(84 * time.Minute), EventsKept: 8},
		poll.Status{Tenant: "globex", State: "auth_error", IntegratedAt: now0.Add(-72 * time.Hour),
			LastPoll: now0.Add(88 * time.Minute), LastError: "okta: 401 Invalid token provided", ConsecutiveFailures: 4},
	)
	dir := screenshotDir(t)
	ctx := newBrowser(t)
	pe := watchErrors(t, ctx)

	signIn(t, ctx, e.srv.URL+"/", tokenAll, "home")
	require.NotContains(t, value(t, ctx, chromedp.Evaluate[string]("location.href")), tokenAll, "the token is not in the address bar")

	// Pollers: problems first (globex failing and stalled), the rest
	// (acme healthy, initech disabled) below.
	problems := texts(t, ctx, `[...document.querySelectorAll('#poller-problems tbody tr')].map(r => r.innerText)`)
	require.Len(t, problems, 1)
	require.Contains(t, problems[0], "globex")
	require.Contains(t, problems[0], "auth error")
	require.Contains(t, problems[0], "stalled")
	require.Contains(t, problems[0], "401 Invalid token provided")
	rest := texts(t, ctx, `[...document.querySelectorAll('#poller-rest tbody tr')].map(r => r.textContent)`)
	require.Len(t, rest, 2)
	require.Contains(t, rest[0], "acme")
	require.Contains(t, rest[0], "caught up")
	require.NotContains(t, rest[0], "stalled")
	require.Contains(t, rest[1], "disabled")

	// The most attacked users, alice first, each with a drawn sparkline.
	rows := texts(t, ctx, `[...document.querySelectorAll('#top-users tbody tr')].map(r => r.innerText)`)
	require.Len(t, rows, 5)
	require.Contains(t, rows[0], alice.login)
	require.Contains(t, rows[0], "critical")
	require.Contains(t, rows[0], "ThreatInsight 2")
	require.Contains(t, rows[1], dave.login)
	require.True(t, value(t, ctx, chromedp.Evaluate[bool](chartDrawn("#activity-chart"))), "activity chart drawn")
	require.True(t, value(t, ctx, chromedp.Evaluate[bool](
		`[...document.querySelectorAll('#top-users canvas.spark')].every(c => { const ch = Chart.getChart(c); return ch && c.width > 0 && ch.data.datasets[0].data.length > 0; })`)),
		"a sparkline per user")
	legend := value(t, ctx, chromedp.Evaluate[[]string](`Chart.getChart(document.querySelector('#activity-chart')).data.datasets.map(d => d.label)`))
	require.Subset(t, legend, []string{"ThreatInsight", "Leaked credentials", "ITP user risk", "Entity risk", "HIGH-risk sign-ins"})
	saveScreenshot(t, ctx, dir, "dashboard-home.png")

	// Sorting by login puts alice, bob, carol first... then dave, erin.
	do(t, ctx, chromedp.Click(chromedp.CSS(`#top-users th[data-sort="login"] button`)))
	require.Eventually(t, func() bool {
		rows := texts(t, ctx, `[...document.querySelectorAll('#top-users tbody tr td:nth-child(2)')].map(td => td.innerText)`)
		return strings.Join(rows, ",") == strings.Join([]string{alice.login, bob.login, carol.login, dave.login, erin.login}, ",")
	}, hangGuard, 50*time.Millisecond, "sorted by login")

	// One org: only its users.
	do(t, ctx, chromedp.SetValue(chromedp.CSS("#org-picker"), "globex"),
		runJS(`document.querySelector('#org-picker').dispatchEvent(new Event('change'))`),
	)
	require.Eventually(t, func() bool {
		rows := texts(t, ctx, `[...document.querySelectorAll('#top-users tbody tr')].map(r => r.innerText)`)
		return len(rows) == 2 && strings.Contains(rows[0], "globex")
	}, hangGuard, 50*time.Millisecond, "globex's users only")

	// The user page of alice.
	do(t, ctx,
		chromedp.Navigate(e.srv.URL+"/#/user/acme/"+alice.id),
		ready("user"),
	)
	title := value(t, ctx, chromedp.Text(chromedp.CSS("#user-title")))
	require.Contains(t, title, alice.login)
	require.Equal(t, "entity_risk x6", value(t, ctx, chromedp.Text(chromedp.CSS("#user-explanation"))))
	require.Equal(t, "critical", value(t, ctx, chromedp.Text(chromedp.CSS("#user-level"))))
	require.True(t, value(t, ctx, chromedp.Evaluate[bool](chartDrawn("#user-chart"))), "score history drawn")
	events := texts(t, ctx, `[...document.querySelectorAll('#user-events tbody tr:not(.raw-row)')].map(r => r.innerText)`)
	require.Len(t, events, 6)
	require.Contains(t, events[0], "Entity risk", "newest first")

	// Raw JSON on demand.
	first := fixtureEvent(5, fixtureSignals[5])
	do(t, ctx, chromedp.Click(chromedp.CSS(`#user-events tr[data-event="`+first.ID+`"] button.show-raw`)))
	require.Eventually(t, func() bool {
		raw := value(t, ctx, chromedp.Evaluate[string](`(document.querySelector('#user-events tr.raw-row:not([hidden]) pre') || {}).innerText || ''`))
		return strings.Contains(raw, `"uuid": "`+first.ID+`"`) && strings.Contains(raw, `"eventType": "policy.entity_risk.evaluate"`)
	}, hangGuard, 50*time.Millisecond, "raw JSON shown")
	saveScreenshot(t, ctx, dir, "dashboard-user.png")
	pe.RequireNone(t)
}

// TestDashboardTokenLimitsWhatIsShown: an acme-only token sees acme and
// nothing of globex; a wrong token gets the form again with a message.
func TestDashboardTokenLimitsWhatIsShown(t *testing.T) {
	e := fixtureEnv(t)
	ctx := newBrowser(t)
	pe := watchErrors(t, ctx)
	signIn(t, ctx, e.srv.URL+"/", tokenAcme, "home")
	body := value(t, ctx, chromedp.Evaluate[string](`document.body.innerText`))
	require.Contains(t, body, alice.login)
	require.NotContains(t, body, "globex")
	require.NotContains(t, body, dave.login)
	require.Equal(t, []string{"", "acme"}, texts(t, ctx, `[...document.querySelectorAll('#org-picker option')].map(o => o.value)`))

	do(t, ctx, chromedp.Click(chromedp.CSS("#logout")), ready("login"))
	require.Empty(t, evalJS[string](t, ctx, `sessionStorage.getItem('riskpipe.token') || ''`), "forgotten")
	do(t, ctx,
		chromedp.SendKeys(chromedp.CSS("#token-input"), "not-a-valid-token-000"),
		chromedp.Click(chromedp.CSS(`#login-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#login-error`)),
	)
	require.Eventually(t, func() bool {
		return evalJS[string](t, ctx, `document.querySelector('#login-error').textContent`) == "That token was not accepted."
	}, hangGuard, 50*time.Millisecond)
	// Typing a good token opens the dashboard.
	do(t, ctx,
		chromedp.SendKeys(chromedp.CSS("#token-input"), tokenGlobex),
		chromedp.Click(chromedp.CSS(`#login-form button[type="submit"]`)),
		ready("home"),
	)
	require.Contains(t, value(t, ctx, chromedp.Evaluate[string](`document.body.innerText`)), dave.login)
	saveScreenshot(t, ctx, screenshotDir(t), "dashboard-globex-token.png")

	// An old link with #token=...: taken out of the address, not used.
	do(t, ctx, chromedp.Click(chromedp.CSS("#logout")), ready("login"))
	do(t, ctx, chromedp.Navigate(e.srv.URL+"/#token="+tokenAcme+"x"), ready("login"))
	require.Equal(t, e.srv.URL+"/#/", evalJS[string](t, ctx, `location.href`))
	require.Contains(t, value(t, ctx, chromedp.Text(chromedp.CSS("#login-error"))), "not used any more")
	require.Empty(t, evalJS[string](t, ctx, `sessionStorage.getItem('riskpipe.token') || ''`))
	pe.RequireNone(t)
}
