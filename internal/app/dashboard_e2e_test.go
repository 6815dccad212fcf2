package app

import (
	"fmt"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/browsertest"
	"github.com/riskpipe/riskpipe/internal/config"
)

// TestDashboardEndToEnd: the real pipeline polls 200 simulated orgs (three
// with a wrong token) and serves the dashboard; in Chromium the pollers are
// summarised (counts by state, the failing orgs first, the rest collapsed,
// the users table on the first screen), and a login holding U+202E that
// the simulator served is isolated, its control character shown.
func TestDashboardEndToEnd(t *testing.T) {
	var specs []orgSpec
	for i := range 200 {
		specs = append(specs, orgSpec{name: fmt.Sprintf("org-%03d", i), scenario: "none"})
	}
	h := newHarness(t, nil, specs...)
	bad := []string{"org-017", "org-101", "org-188"}
	var tenants []config.Tenant
	for _, s := range specs {
		tn := h.tenant(s.name)
		tn.Poll.Interval = 2 * time.Second // 200 pollers on a shared machine
		if slices.Contains(bad, s.name) {
			tn.Auth.Token = config.Secret("not-the-token-of-" + s.name)
		}
		tenants = append(tenants, tn)
	}
	cfg := h.config(tenants...)
	const apiToken = "e2e-dashboard-token-0123456789"
	cfg.API.Tokens = []config.APIToken{{Name: "analyst", Token: config.Secret(apiToken), Tenants: []string{config.AllTenants}}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	r := h.start(t, cfg, nil, func(o *Options) { o.Listener = ln })

	eventually(t, waitFor, func() bool {
		polled := 0
		for _, s := range r.app.Statuses() {
			if !s.LastPoll.IsZero() && (s.State == "auth_error") == slices.Contains(bad, s.Tenant) {
				polled++
			}
		}
		return polled == 200
	}, "every org polled, the three with a wrong token in auth_error")
	// A HIGH-risk sign-in of a login with a right-to-left override, as
	// Okta would serve it, published after the org was integrated.
	const login = "mallory\u202egnp.exe@example.com"
	raw := fmt.Appendf(nil, `{"uuid":"bidi-1","published":%q,"eventType":"user.session.start","version":"0","severity":"INFO",`+
		`"displayMessage":"User login to Okta","actor":{"id":"00ubidi","type":"User","alternateId":%q,"displayName":"Mallory"},`+
		`"client":{"ipAddress":"198.51.100.7"},"outcome":{"result":"SUCCESS"},"transaction":{"type":"WEB","id":"tx-bidi-1"},`+
		`"debugContext":{"debugData":{"risk":"{level=HIGH, reasons=Anomalous Device}"}}}`,
		time.Now().UTC().Format("2006-01-02T15:04:05.000Z"), login)
	h.orgs["org-000"].org.Inject(raw)

	eventually(t, waitFor, func() bool {
		return h.uint(t, "SELECT count() FROM "+h.table("attack_factor_latest")+" FINAL WHERE user_id = '00ubidi'") == 1
	}, "the injected user scored")

	ctx := browsertest.New(t, "")
	pe := browsertest.WatchErrors(t, ctx)
	ready := func(view string) chromedp.Action[chromedp.Void] {
		return chromedp.WaitVisible(chromedp.CSS(`body[data-ready="` + view + `"]`))
	}
	browsertest.Do(t, ctx,
		chromedp.Navigate("http://"+ln.Addr().String()+"/"),
		ready("login"),
		chromedp.SendKeys(chromedp.CSS("#token-input"), apiToken),
		chromedp.Click(chromedp.CSS(`#login-form button[type="submit"]`)),
		ready("home"),
	)
	counts := browsertest.Eval[[]string](t, ctx, `[...document.querySelectorAll('#poller-counts .badge')].map(b => b.dataset.state + ':' + b.textContent)`)
	require.Contains(t, counts, "total:200 orgs")
	require.Contains(t, counts, "auth_error:auth error 3")
	require.Equal(t, bad, browsertest.Eval[[]string](t, ctx, `[...document.querySelectorAll('#poller-problems tbody tr')].map(r => r.dataset.org)`),
		"the failing orgs, first")
	require.False(t, browsertest.Eval[bool](t, ctx, `document.querySelector('#pollers details.rest').open`), "the rest collapsed")
	require.Equal(t, 197, browsertest.Eval[int](t, ctx, `document.querySelectorAll('#poller-rest tbody tr').length`))
	require.Less(t, browsertest.Eval[float64](t, ctx, `document.querySelector('#users').getBoundingClientRect().top`), 1000.0,
		"the users table starts on the first screen")

	cell := browsertest.Eval[map[string]string](t, ctx, `(() => {
  const bdi = document.querySelector('#top-users tr[data-user="00ubidi"] td.login bdi');
  return {bidi: getComputedStyle(bdi).unicodeBidi, text: bdi.textContent, ctl: bdi.querySelector('.ctl').textContent};
})()`)
	require.Equal(t, "isolate", cell["bidi"])
	require.Equal(t, "U+202E", cell["ctl"])
	require.Equal(t, "malloryU+202Egnp.exe@example.com", cell["text"])
	require.NotContains(t, browsertest.Eval[string](t, ctx, `document.body.innerText`), "\u202e")
	browsertest.Screenshot(t, ctx, browsertest.ScreenshotDir(t), "e2e-200-orgs.png")
	pe.RequireNone(t)
}
