package api

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/config"
	"github.com/riskpipe/riskpipe/internal/event"
	"github.com/riskpipe/riskpipe/internal/poll"
	"github.com/riskpipe/riskpipe/internal/store"
)

// The browser tests of issue 12, one per numbered point of the issue (or
// a few points per test where they share a page); each asserts on the DOM
// and saves screenshots (screenshotDir) for people to look at.

// waitFor waits for ch to close; the minute is a guard against a hang,
// not a measurement.
func waitFor(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(time.Minute):
		t.Fatalf("timed out waiting for %s", what)
	}
}

// sectionStates are the data-state of the view's sections, by id.
func sectionStates(t *testing.T, ctx context.Context) map[string]string {
	t.Helper()
	return evalJS[map[string]string](t, ctx, `Object.fromEntries([...document.querySelectorAll('#view section[data-state]')].map(s => [s.id, s.dataset.state]))`)
}

func viewText(t *testing.T, ctx context.Context) string {
	t.Helper()
	return evalJS[string](t, ctx, `document.querySelector('#view').innerText`)
}

func setHash(hash string) chromedp.Action[chromedp.Void] {
	return runJS(`location.hash = ` + jsString(hash))
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// 1. Loading, empty, error and stale states; a failed or superseded
// request's data is never shown.
func TestDashboardStates(t *testing.T) {
	e := fixtureEnv(t)
	dir := screenshotDir(t)
	ctx := newBrowser(t)
	pe := watchErrors(t, ctx)
	signIn(t, ctx, e.srv.URL+"/#/user/acme/"+alice.id, tokenAll, "user")
	require.Contains(t, viewText(t, ctx), alice.login)

	// A slow answer: the new address shows its sections loading at once,
	// and nothing of alice.
	slow := e.gate.hold("/users/" + bob.id)
	do(t, ctx, setHash("#/user/acme/"+bob.id))
	waitFor(t, slow.arrived, "bob's request")
	require.Eventually(t, func() bool {
		st := sectionStates(t, ctx)
		return len(st) == 3 && st["user-factor"] == "loading" && st["user-history"] == "loading" && st["user-events-card"] == "loading"
	}, hangGuard, 20*time.Millisecond, "loading state")
	require.NotContains(t, viewText(t, ctx), alice.login, "the previous user's data is gone")
	require.Empty(t, evalJS[string](t, ctx, `document.body.dataset.ready`))
	saveScreenshot(t, ctx, dir, "state-loading.png")

	// Superseded: moving on to carol before bob's answer aborts bob's
	// request; carol's page shows carol only.
	do(t, ctx, setHash("#/user/acme/"+carol.id), ready("user"))
	waitFor(t, slow.canceled, "bob's request aborted by the browser")
	slow.releaseAll()
	require.Contains(t, value(t, ctx, chromedp.Text(chromedp.CSS("#user-title"))), carol.login)
	require.NotContains(t, viewText(t, ctx), bob.login)

	// A failing API (ClickHouse down): every section shows the error, and
	// nothing of carol stays under dave's address.
	e.gate.fail("/users/"+dave.id, http.StatusServiceUnavailable)
	do(t, ctx, setHash("#/user/globex/"+dave.id), ready("error"))
	require.Equal(t, map[string]string{"user-factor": "error", "user-history": "error", "user-events-card": "error"}, sectionStates(t, ctx))
	txt := viewText(t, ctx)
	require.Contains(t, txt, "Could not load: clickhouse query failed")
	require.NotContains(t, txt, carol.login)
	saveScreenshot(t, ctx, dir, "state-error.png")
	// Retry once it is back.
	e.gate.clear()
	do(t, ctx, chromedp.Click(chromedp.CSS("#user-factor button.retry")), ready("user"))
	require.Contains(t, value(t, ctx, chromedp.Text(chromedp.CSS("#user-title"))), dave.login)

	// An unknown user is an error of its own, not the previous user.
	do(t, ctx, setHash("#/user/acme/00unobody"), ready("error"))
	txt = viewText(t, ctx)
	require.Contains(t, txt, "no such user in this org")
	require.NotContains(t, txt, dave.login)

	// Empty: filters no user passes.
	do(t, ctx, setHash("#/?level=low"), ready("home"))
	require.Equal(t, "empty", sectionStates(t, ctx)["users"])
	require.Contains(t, viewText(t, ctx), "No users match these filters.")
	require.Zero(t, evalJS[int](t, ctx, `document.querySelectorAll('#top-users tbody tr').length`))

	// Stale: a refresh that fails keeps this address's data, marked.
	do(t, ctx, setHash("#/"), ready("home"))
	require.Equal(t, 5, evalJS[int](t, ctx, `document.querySelectorAll('#top-users tbody tr').length`))
	e.gate.fail("/api/v1/users?", http.StatusServiceUnavailable)
	do(t, ctx, chromedp.Click(chromedp.CSS("#refresh")), chromedp.WaitVisible(chromedp.CSS(`#users[data-state="stale"]`)))
	require.Equal(t, 5, evalJS[int](t, ctx, `document.querySelectorAll('#top-users tbody tr').length`), "data kept")
	require.Contains(t, value(t, ctx, chromedp.Text(chromedp.CSS("#users .stale-note"))), "the refresh failed")
	require.Equal(t, "ready", sectionStates(t, ctx)["activity"], "the sections that refreshed are fresh")
	require.Eventually(t, func() bool {
		return strings.Contains(evalJS[string](t, ctx, `document.querySelector('#freshness').textContent`), "STALE")
	}, hangGuard, 50*time.Millisecond)
	saveScreenshot(t, ctx, dir, "state-stale.png")
	e.gate.clear()
	do(t, ctx, chromedp.Click(chromedp.CSS("#refresh")), chromedp.WaitVisible(chromedp.CSS(`#users[data-state="ready"]`)))

	// The orgs list failing fails the whole view; a refresh once it is
	// back draws the view whole, without the error.
	e.gate.fail("/api/v1/orgs", http.StatusServiceUnavailable)
	do(t, ctx, setHash("#/?org=acme"), ready("error"))
	require.Equal(t, map[string]string{"view-error": "error"}, sectionStates(t, ctx))
	e.gate.clear()
	do(t, ctx, chromedp.Click(chromedp.CSS("#refresh")), ready("home"))
	require.Equal(t, map[string]string{"pollers": "ready", "activity": "ready", "users": "ready"}, sectionStates(t, ctx))
	pe.RequireNone(t)
}

// 2. Sign-in by form (token in sessionStorage only), "Forget token", and a
// one-time code link; afterwards no file of the Chromium profile holds a
// token. 3 (in part): a deep link survives the sign-in.
func TestDashboardSignInLeavesNoToken(t *testing.T) {
	codes := NewSignInCodes(nil)
	e := newEnvWith(t, testTenants(), func(s *Settings) { s.SignInCodes = codes })
	e.write(fixtureBatches()...)
	e.writeFactors(fixtureUpdates())
	profile := t.TempDir()
	ctx := newBrowserIn(t, profile)
	pe := watchErrors(t, ctx)

	// A positive control: a string that does go through the address bar
	// must be found in the profile afterwards, so that not finding the
	// tokens means something.
	marker := fmt.Sprintf("marker%d", time.Now().UnixNano())
	do(t, ctx, chromedp.Navigate(e.srv.URL+"/#/search?q="+marker), ready("login"))

	deep := e.srv.URL + "/#/user/acme/" + alice.id
	signIn(t, ctx, deep, tokenAcme, "user")
	require.Equal(t, deep, evalJS[string](t, ctx, `location.href`), "the deep link survives the sign-in")
	require.Contains(t, value(t, ctx, chromedp.Text(chromedp.CSS("#user-title"))), alice.login)
	require.Equal(t, tokenAcme, evalJS[string](t, ctx, `sessionStorage.getItem('riskpipe.token')`))
	require.Zero(t, evalJS[int](t, ctx, `localStorage.length`))
	require.Empty(t, evalJS[string](t, ctx, `document.cookie`))

	// A one-time code (what riskpipe demo prints): exchanged once.
	code, err := codes.Issue(tokenAll, 10*time.Minute)
	require.NoError(t, err)
	do(t, ctx, chromedp.Navigate(e.srv.URL+"/#/sign-in/"+code), ready("home"))
	require.Equal(t, e.srv.URL+"/#/", evalJS[string](t, ctx, `location.href`), "the code leaves the address bar")
	require.Equal(t, tokenAll, evalJS[string](t, ctx, `sessionStorage.getItem('riskpipe.token')`))
	require.Contains(t, viewText(t, ctx), dave.login, "signed in with the code's token (all orgs)")
	do(t, ctx, chromedp.Navigate(e.srv.URL+"/#/sign-in/"+code), ready("login"))
	require.Contains(t, value(t, ctx, chromedp.Text(chromedp.CSS("#login-error"))), "used or expired")

	// Forget token.
	signIn(t, ctx, e.srv.URL+"/#/", tokenAcme, "home")
	do(t, ctx, chromedp.Click(chromedp.CSS("#logout")), ready("login"))
	require.Empty(t, evalJS[string](t, ctx, `sessionStorage.getItem('riskpipe.token') || ''`))
	require.Empty(t, viewText(t, ctx), "nothing of the data stays")
	saveScreenshot(t, ctx, screenshotDir(t), "sign-in.png")
	pe.RequireNone(t)

	// Close Chromium so that it writes its databases, then read them all.
	require.NoError(t, chromedp.Cancel(ctx))
	needles := map[string][]byte{}
	for _, tok := range []string{tokenAcme, tokenAll} {
		needles[tok] = []byte(tok)
		u16 := new(bytes.Buffer)
		for _, r := range utf16.Encode([]rune(tok)) {
			u16.WriteByte(byte(r))
			u16.WriteByte(byte(r >> 8))
		}
		needles[tok+" (UTF-16)"] = u16.Bytes()
	}
	host := []byte(strings.TrimPrefix(e.srv.URL, "http://"))
	var files, mentionHost, mentionMarker int
	require.NoError(t, filepath.WalkDir(profile, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil // a socket or a file Chromium removed meanwhile
		}
		files++
		if bytes.Contains(b, host) {
			mentionHost++
		}
		if bytes.Contains(b, []byte(marker)) {
			mentionMarker++
		}
		for name, n := range needles {
			require.False(t, bytes.Contains(b, n), "the token %s is in %s", name, path)
		}
		return nil
	}))
	t.Logf("read %d files of the profile; %d mention the dashboard's address, %d the address-bar marker", files, mentionHost, mentionMarker)
	require.Positive(t, mentionHost, "the profile recorded the visits (else this test proves nothing)")
	require.Positive(t, mentionMarker, "what goes through the address bar lands in the profile (the positive control)")
}

// 3. Every view's address (org, user, filters, range, sort, page)
// survives a reload.
func TestDashboardDeepLinks(t *testing.T) {
	e := fixtureEnv(t)
	// 30 more globex users, so that globex has a second page.
	var more []FactorUpdate
	for i := range 30 {
		more = append(more, FactorUpdate{Tenant: "globex", UserID: fmt.Sprintf("00ufill%02d", i), UserLogin: fmt.Sprintf("fill%02d@globex.example", i),
			UpdatedAt: now0.Add(-time.Hour), Score: float64(i % 10), Percentile: 10, Level: "low", Signals: 1, Explanation: "fill"})
	}
	e.writeFactors(more)
	ctx := newBrowser(t)
	pe := watchErrors(t, ctx)

	type check func(t *testing.T)
	views := []struct {
		name, hash, view string
		check            check
	}{
		{"filters, sort and range", "#/?org=acme&range=24h&level=critical&level=high&sort=login&order=asc", "home", func(t *testing.T) {
			require.Equal(t, []string{alice.login, bob.login, carol.login},
				texts(t, ctx, `[...document.querySelectorAll('#top-users tbody tr td:nth-child(2)')].map(td => td.innerText)`))
			require.Equal(t, "acme", evalJS[string](t, ctx, `document.querySelector('#org-picker').value`))
			require.Equal(t, "24h", evalJS[string](t, ctx, `document.querySelector('#range-picker').value`))
			require.Equal(t, []string{"critical", "high"}, texts(t, ctx, `[...document.querySelectorAll('#user-filters input[name=level]:checked')].map(i => i.value)`))
			require.Equal(t, "login", evalJS[string](t, ctx, `document.querySelector('#top-users th.active').dataset.sort`))
		}},
		{"category and changed", "#/?cat=leaked_credentials&changed=1&range=30d", "home", func(t *testing.T) {
			require.Equal(t, []string{alice.login, carol.login},
				texts(t, ctx, `[...document.querySelectorAll('#top-users tbody tr td:nth-child(2)')].map(td => td.innerText)`))
			require.Equal(t, "leaked_credentials", evalJS[string](t, ctx, `document.querySelector('#user-filters select[name=cat]').value`))
			require.True(t, evalJS[bool](t, ctx, `document.querySelector('#user-filters input[name=changed]').checked`))
		}},
		{"page", "#/?org=globex&page=2&sort=login&order=asc", "home", func(t *testing.T) {
			require.Equal(t, "26–32 of 32", value(t, ctx, chromedp.Text(chromedp.CSS("#page-info"))))
			require.Len(t, texts(t, ctx, `[...document.querySelectorAll('#top-users tbody tr')].map(r => r.innerText)`), 7)
		}},
		{"user", "#/user/globex/" + dave.id + "?range=24h", "user", func(t *testing.T) {
			require.Contains(t, value(t, ctx, chromedp.Text(chromedp.CSS("#user-title"))), dave.login)
			require.Equal(t, "24h", evalJS[string](t, ctx, `document.querySelector('#range-picker').value`))
		}},
		{"org", "#/org/acme?range=30d", "org", func(t *testing.T) {
			require.Equal(t, "acme", value(t, ctx, chromedp.Text(chromedp.CSS("#org-name"))))
			require.Equal(t, "acme", evalJS[string](t, ctx, `document.querySelector('#org-picker').value`))
			require.Equal(t, "30d", evalJS[string](t, ctx, `document.querySelector('#range-picker').value`))
		}},
		{"search", "#/search?q=dave", "search", func(t *testing.T) {
			require.Equal(t, []string{dave.id}, texts(t, ctx, `[...document.querySelectorAll('#search-table tbody tr')].map(r => r.dataset.user)`))
			require.Equal(t, "dave", evalJS[string](t, ctx, `document.querySelector('#search-input').value`))
		}},
	}
	signIn(t, ctx, e.srv.URL+"/"+views[0].hash, tokenAll, views[0].view)
	for _, v := range views {
		t.Run(v.name, func(t *testing.T) {
			do(t, ctx, chromedp.Navigate(e.srv.URL+"/"+v.hash), ready(v.view))
			v.check(t)
			do(t, ctx, chromedp.Reload(), ready(v.view))
			require.Equal(t, e.srv.URL+"/"+v.hash, evalJS[string](t, ctx, `location.href`))
			v.check(t)
		})
	}
	// Controls write the address: sorting by last signal, then back.
	do(t, ctx, chromedp.Navigate(e.srv.URL+"/#/?org=acme"), ready("home"))
	do(t, ctx, chromedp.Click(chromedp.CSS(`#top-users th[data-sort="last_signal"] button`)))
	require.Eventually(t, func() bool {
		return strings.Contains(evalJS[string](t, ctx, `location.hash`), "sort=last_signal") &&
			evalJS[string](t, ctx, `document.body.dataset.ready`) == "home"
	}, hangGuard, 50*time.Millisecond)
	require.Equal(t, []string{alice.login, bob.login, carol.login},
		texts(t, ctx, `[...document.querySelectorAll('#top-users tbody tr td:nth-child(2)')].map(td => td.innerText)`), "newest signal first")
	pe.RequireNone(t)
}

// 4. At 400 px wide nothing is wider than the window; raw JSON scrolls in
// its own box, with a copy button.
func TestDashboardNarrow(t *testing.T) {
	e := fixtureEnv(t)
	dir := screenshotDir(t)
	ctx := newBrowser(t)
	pe := watchErrors(t, ctx)
	do(t, ctx, chromedp.EmulateViewport(400, 900))
	pageWidth := `Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)`
	signIn(t, ctx, e.srv.URL+"/#/", tokenAll, "home")
	require.LessOrEqual(t, evalJS[int](t, ctx, pageWidth), 400, "home")
	saveScreenshot(t, ctx, dir, "narrow-home.png")

	do(t, ctx, chromedp.Navigate(e.srv.URL+"/#/user/acme/"+alice.id), ready("user"))
	require.LessOrEqual(t, evalJS[int](t, ctx, pageWidth), 400, "user page")
	first := fixtureEvent(5, fixtureSignals[5])
	do(t, ctx, chromedp.Click(chromedp.CSS(`#user-events tr[data-event="`+first.ID+`"] button.show-raw`)),
		chromedp.WaitEnabled(chromedp.CSS(`#user-events tr.raw-row:not([hidden]) button.copy`)))
	require.LessOrEqual(t, evalJS[int](t, ctx, pageWidth), 400, "with raw JSON open")
	box := evalJS[map[string]float64](t, ctx, `(() => { const p = document.querySelector('#user-events tr.raw-row:not([hidden]) pre.raw');
  const r = p.getBoundingClientRect(); return {right: r.right, scroll: p.scrollWidth, client: p.clientWidth}; })()`)
	require.LessOrEqual(t, box["right"], 400.0, "the box fits the window")
	require.Greater(t, box["scroll"], box["client"], "long lines scroll inside the box")
	do(t, ctx, chromedp.Click(chromedp.CSS(`#user-events tr.raw-row:not([hidden]) button.copy`)))
	require.Eventually(t, func() bool {
		txt := evalJS[string](t, ctx, `document.querySelector('#user-events tr.raw-row:not([hidden]) button.copy').textContent`)
		return txt == "Copied" || txt == "Selected: press Ctrl+C"
	}, hangGuard, 50*time.Millisecond, "the copy button copies (or selects where the page may not write the clipboard)")
	saveScreenshot(t, ctx, dir, "narrow-user-raw.png")

	do(t, ctx, chromedp.Navigate(e.srv.URL+"/#/org/acme"), ready("org"))
	require.LessOrEqual(t, evalJS[int](t, ctx, pageWidth), 400, "org page")
	saveScreenshot(t, ctx, dir, "narrow-org.png")
	pe.RequireNone(t)
}

// 5. A login holding U+202E (right-to-left override) is isolated and its
// control character shown.
func TestDashboardBidi(t *testing.T) {
	e := fixtureEnv(t)
	mallory := fixtureUser{"acme", "00umallory", "mallory\u202egnp.exe@acme.example"}
	ev := fixtureEvent(99, signal{mallory, event.CategoryLeakedCredentials, time.Hour})
	ev.DisplayMessage = "\u202ereversed message"
	e.write(store.Batch{Tenant: "acme", Events: []event.Event{ev}})
	e.writeFactors([]FactorUpdate{{Tenant: "acme", UserID: mallory.id, UserLogin: mallory.login, UpdatedAt: now0.Add(-time.Hour),
		Score: 99, Percentile: 99, Level: "critical", Signals: 1, CauseEventID: ev.ID, CauseCategory: "leaked_credentials", Explanation: "x"}})
	dir := screenshotDir(t)
	ctx := newBrowser(t)
	pe := watchErrors(t, ctx)
	signIn(t, ctx, e.srv.URL+"/#/?org=acme", tokenAll, "home")

	cell := evalJS[map[string]string](t, ctx, `(() => {
  const tr = document.querySelector('#top-users tr[data-user="00umallory"]');
  const bdi = tr.querySelector('td.login bdi');
  return {tag: bdi.tagName, bidi: getComputedStyle(bdi).unicodeBidi, text: bdi.textContent, ctl: bdi.querySelector('.ctl').textContent, title: bdi.querySelector('.ctl').title};
})()`)
	require.Equal(t, "BDI", cell["tag"])
	require.Equal(t, "isolate", cell["bidi"])
	require.Equal(t, "U+202E", cell["ctl"])
	require.Contains(t, cell["title"], "RIGHT-TO-LEFT OVERRIDE")
	require.Equal(t, "mallorythe U+202Egnp.exe@acme.example"[len("mallorythe "):], cell["text"][len("mallory"):], "the character is written out, the text after it in its order")
	require.NotContains(t, evalJS[string](t, ctx, `document.body.innerText`), "\u202e", "no raw override anywhere on the page")
	saveScreenshot(t, ctx, dir, "bidi-home.png")

	do(t, ctx, chromedp.Navigate(e.srv.URL+"/#/user/acme/00umallory"), ready("user"))
	require.NotContains(t, evalJS[string](t, ctx, `document.body.innerText`), "\u202e")
	require.Equal(t, 2, evalJS[int](t, ctx, `document.querySelectorAll('#view .ctl').length`), "the title's login and the event's message")
	require.Equal(t, "isolate", evalJS[string](t, ctx, `getComputedStyle(document.querySelector('#user-title bdi')).unicodeBidi`))
	saveScreenshot(t, ctx, dir, "bidi-user.png")
	pe.RequireNone(t)
}

// 6. 200 orgs: the pollers are summarised (counts by state, problems
// first, the rest collapsed) and the users table is within the first
// screen.
func TestDashboardManyOrgs(t *testing.T) {
	tenants := []config.Tenant{{Name: "acme"}, {Name: "globex"}}
	for i := len(tenants); i < 200; i++ {
		tenants = append(tenants, config.Tenant{Name: fmt.Sprintf("org-%03d", i), Description: fmt.Sprintf("Simulated org %d", i)})
	}
	e := newEnvWith(t, tenants)
	e.write(fixtureBatches()...)
	e.writeFactors(fixtureUpdates())
	// Three hours after the API started, so that an org can be stalled.
	now1 := now0.Add(3 * time.Hour)
	e.clock.Set(now1)
	var sts []poll.Status
	var wantProblems []string
	for i, tn := range tenants {
		st := poll.Status{Tenant: tn.Name, State: "caught_up", IntegratedAt: now0.Add(-time.Hour), LastPoll: now1.Add(-10 * time.Second),
			LastCursorAdvance: now1.Add(-time.Minute), NewestPublished: now1.Add(-time.Minute)}
		switch {
		case i%50 == 7:
			st.State, st.LastError, st.ConsecutiveFailures = "auth_error", "okta: 401 Invalid token provided", 3
		case i%40 == 11:
			st.State, st.LastError, st.ConsecutiveFailures = "backing_off", "okta: 429 rate limited", 1
		case i%60 == 13:
			st.LastCursorAdvance = now1.Add(-2 * time.Hour) // stalled
		}
		if st.State != "caught_up" || i%60 == 13 {
			wantProblems = append(wantProblems, tn.Name)
		}
		sts = append(sts, st)
	}
	e.setStatuses(sts...)
	dir := screenshotDir(t)
	ctx := newBrowser(t)
	pe := watchErrors(t, ctx)
	signIn(t, ctx, e.srv.URL+"/#/", tokenAll, "home")

	counts := texts(t, ctx, `[...document.querySelectorAll('#poller-counts .badge')].map(b => b.dataset.state + ':' + b.textContent)`)
	require.Contains(t, counts, "total:200 orgs")
	require.Contains(t, counts, "auth_error:auth error 4")
	require.Contains(t, counts, "backing_off:backing off 5")
	require.Contains(t, counts, "stalled:stalled 4")
	problems := texts(t, ctx, `[...document.querySelectorAll('#poller-problems tbody tr, #poller-more-problems tbody tr')].map(r => r.dataset.org)`)
	slices.Sort(wantProblems)
	got := slices.Clone(problems)
	slices.Sort(got)
	require.Equal(t, wantProblems, got)
	for i, org := range problems[:4] {
		require.Contains(t, evalJS[string](t, ctx, `document.querySelectorAll('#poller-problems tbody tr')[`+fmt.Sprint(i)+`].innerText`), "auth error", "auth errors first: %s", org)
	}
	require.Equal(t, 5, evalJS[int](t, ctx, `document.querySelectorAll('#poller-problems tbody tr').length`), "the worst five shown")
	require.False(t, evalJS[bool](t, ctx, `document.querySelector('#pollers details.more-problems').open`), "the other problems one click away")
	require.False(t, evalJS[bool](t, ctx, `document.querySelector('#pollers details.rest:not(.more-problems)').open`), "the healthy rest is collapsed")
	require.Equal(t, 200-len(wantProblems), evalJS[int](t, ctx, `document.querySelectorAll('#poller-rest tbody tr').length`))
	require.Contains(t, evalJS[string](t, ctx, `document.querySelector('#pollers details.rest:not(.more-problems) summary').textContent`), fmt.Sprintf("%d healthy", 200-len(wantProblems)))
	top := evalJS[float64](t, ctx, `document.querySelector('#users').getBoundingClientRect().top`)
	require.Less(t, top, 1000.0, "the users table starts on the first screen (1000 px)")
	saveScreenshot(t, ctx, dir, "many-orgs.png")
	pe.RequireNone(t)
}

// 7. Search by login, name or id from every page; 9. legend, UTC and local
// times, freshness.
func TestDashboardSearchLegendTimes(t *testing.T) {
	e := fixtureEnv(t)
	dir := screenshotDir(t)
	ctx := newBrowser(t)
	pe := watchErrors(t, ctx)
	do(t, ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: "Asia/Tokyo"})
		return err
	}))
	signIn(t, ctx, e.srv.URL+"/#/user/globex/"+dave.id, tokenAll, "user")

	// From a user's page, by a piece of a display name.
	do(t, ctx, chromedp.SendKeys(chromedp.CSS("#search-input"), "lice ex\r"), ready("search"))
	require.Equal(t, "#/search?q=lice+ex", evalJS[string](t, ctx, `location.hash`))
	rows := texts(t, ctx, `[...document.querySelectorAll('#search-table tbody tr')].map(r => r.dataset.user + ' ' + r.dataset.field + ' ' + r.dataset.match)`)
	require.Equal(t, []string{alice.id + " name substring"}, rows)
	require.Contains(t, viewText(t, ctx), "Alice Example")
	saveScreenshot(t, ctx, dir, "search.png")
	do(t, ctx, chromedp.Click(chromedp.CSS(`#search-table tbody tr a`)), ready("user"))
	require.Contains(t, value(t, ctx, chromedp.Text(chromedp.CSS("#user-title"))), alice.login)
	// By id prefix, and by login, from the overview.
	for q, want := range map[string]string{"00ue": erin.id + " id prefix", "bob@": bob.id + " login prefix"} {
		do(t, ctx, chromedp.Navigate(e.srv.URL+"/#/"), ready("home"),
			runJS(`document.querySelector('#search-input').value = ''`), chromedp.SendKeys(chromedp.CSS("#search-input"), q+"\r"), ready("search"))
		require.Eventually(t, func() bool {
			return slices.Equal([]string{want}, texts(t, ctx, `[...document.querySelectorAll('#search-table tbody tr')].map(r => r.dataset.user + ' ' + r.dataset.field + ' ' + r.dataset.match)`))
		}, hangGuard, 50*time.Millisecond, q)
	}
	// An acme token finds no globex user.
	do(t, ctx, chromedp.Navigate(e.srv.URL+"/#/"), ready("home"), chromedp.Click(chromedp.CSS("#logout")), ready("login"))
	signIn(t, ctx, e.srv.URL+"/#/search?q=dave", tokenAcme, "search")
	require.Equal(t, "empty", sectionStates(t, ctx)["search-results"])

	// Legend: levels with the bands of docs/attack-factor.md, categories.
	levels := texts(t, ctx, `[...document.querySelectorAll('#legend-levels tbody tr')].map(r => r.dataset.level + ' ' + r.cells[1].textContent)`)
	require.Equal(t, []string{"critical ≥ 65", "high 40 – < 65", "medium 20 – < 40", "low 0 – < 20"}, levels)
	require.Len(t, texts(t, ctx, `[...document.querySelectorAll('#legend-categories tbody tr')].map(r => r.dataset.category)`), 6)

	// Times: UTC on the page, the browser's zone on hover.
	do(t, ctx, chromedp.Navigate(e.srv.URL+"/#/user/acme/"+alice.id), ready("user"))
	tm := evalJS[map[string]string](t, ctx, `(() => { const t = document.querySelector('#user-events time'); return {text: t.textContent, title: t.title, dt: t.getAttribute('datetime')}; })()`)
	pub := now0.Add(-2 * time.Hour).Add(5 * time.Millisecond) // alice's newest event
	require.Equal(t, pub.Format("2006-01-02 15:04:05")+" UTC", tm["text"])
	require.Contains(t, tm["title"], pub.Format("2006-01-02 15:04:05")+" UTC")
	require.Contains(t, tm["title"], pub.In(time.FixedZone("JST", 9*3600)).Format("2006-01-02 15:04:05")+" (Asia/Tokyo)")

	// Freshness.
	require.Eventually(t, func() bool {
		f := evalJS[string](t, ctx, `document.querySelector('#freshness').textContent`)
		return strings.HasPrefix(f, "Data as of ") && strings.Contains(f, "scores refreshed ") && strings.Contains(f, " ago")
	}, hangGuard, 50*time.Millisecond, "freshness shown")
	do(t, ctx, runJS(`document.querySelector('#legend').open = true`))
	saveScreenshot(t, ctx, dir, "legend.png")
	pe.RequireNone(t)
}

// 8. Filters and sorts of the users table (through the controls); 11.
// export of what is on screen as CSV and JSON.
func TestDashboardFiltersAndExport(t *testing.T) {
	e := fixtureEnv(t)
	ctx := newBrowser(t)
	pe := watchErrors(t, ctx)
	downloads := t.TempDir()
	do(t, ctx, chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := cdp.Call(ctx, chromedp.FromContext(ctx).Browser, browser.SetDownloadBehavior,
			browser.SetDownloadBehaviorParams{Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: downloads})
		return err
	}))
	signIn(t, ctx, e.srv.URL+"/#/", tokenAll, "home")
	logins := func() []string {
		return texts(t, ctx, `[...document.querySelectorAll('#top-users tbody tr td:nth-child(2)')].map(td => td.innerText)`)
	}
	settle := func(hashPart string) {
		t.Helper()
		require.Eventually(t, func() bool {
			return strings.Contains(evalJS[string](t, ctx, `location.hash`), hashPart) && evalJS[string](t, ctx, `document.body.dataset.ready`) == "home"
		}, hangGuard, 50*time.Millisecond, hashPart)
	}
	do(t, ctx, chromedp.Click(chromedp.CSS(`#user-filters input[value="critical"]`)))
	settle("level=critical")
	require.Equal(t, []string{alice.login, dave.login}, logins())
	do(t, ctx, chromedp.Click(chromedp.CSS(`#user-filters input[value="high"]`)))
	settle("level=high")
	require.Equal(t, []string{alice.login, dave.login, carol.login, bob.login}, logins(), "by score")
	do(t, ctx, chromedp.Click(chromedp.CSS(`#top-users th[data-sort="signals"] button`)))
	settle("sort=signals")
	do(t, ctx, chromedp.Click(chromedp.CSS(`#top-users th[data-sort="percentile"] button`)))
	settle("sort=percentile")
	require.Equal(t, []string{alice.login, dave.login, carol.login, bob.login}, logins(), "by percentile")
	do(t, ctx, runJS(`(s => { s.value = 'threat_insight'; s.dispatchEvent(new Event('change')); })(document.querySelector('#user-filters select[name=cat]'))`))
	settle("cat=threat_insight")
	require.Equal(t, []string{alice.login, dave.login, bob.login}, logins())
	// The range applies: in the last 24 hours... and "changed in the range".
	do(t, ctx, chromedp.SetValue(chromedp.CSS("#range-picker"), "24h"),
		runJS(`document.querySelector('#range-picker').dispatchEvent(new Event('change'))`))
	settle("range=24h")
	require.Equal(t, []string{dave.login, bob.login}, logins(), "alice's ThreatInsight events are older than 24 h")
	do(t, ctx, chromedp.Click(chromedp.CSS(`#user-filters input[name=changed]`)))
	settle("changed=1")
	require.Equal(t, []string{dave.login, bob.login}, logins())
	saveScreenshot(t, ctx, screenshotDir(t), "filters.png")

	// Export what is on screen.
	do(t, ctx, chromedp.Click(chromedp.CSS(`#users button.export-csv`)))
	csvFile := waitDownload(t, downloads, ".csv")
	recs, err := csv.NewReader(bytes.NewReader(csvFile)).ReadAll()
	require.NoError(t, err)
	require.Equal(t, []string{"tenant", "user_id", "user_login", "score", "percentile", "level"}, recs[0][:6])
	var ids []string
	for _, r := range recs[1:] {
		ids = append(ids, r[1])
	}
	require.Equal(t, []string{dave.id, bob.id}, ids)
	do(t, ctx, chromedp.Click(chromedp.CSS(`#users button.export-json`)))
	var doc struct {
		View    string        `json:"view"`
		Filters UserFilters   `json:"filters"`
		Sort    string        `json:"sort"`
		Rows    []UserSummary `json:"rows"`
	}
	require.NoError(t, json.Unmarshal(waitDownload(t, downloads, ".json"), &doc))
	require.Equal(t, "percentile", doc.Sort)
	require.Equal(t, []string{"critical", "high"}, doc.Filters.Level)
	require.Equal(t, []string{"threat_insight"}, doc.Filters.Category)
	require.True(t, doc.Filters.Changed)
	require.Len(t, doc.Rows, 2)
	require.Equal(t, dave.id, doc.Rows[0].UserID)
	pe.RequireNone(t)
}

// waitDownload returns the first finished file in dir ending in ext, and
// removes it.
func waitDownload(t *testing.T, dir, ext string) []byte {
	t.Helper()
	var data []byte
	require.Eventually(t, func() bool {
		entries, _ := os.ReadDir(dir)
		for _, en := range entries {
			if strings.HasSuffix(en.Name(), ext) {
				b, err := os.ReadFile(filepath.Join(dir, en.Name()))
				if err == nil && len(b) > 0 {
					data = b
					_ = os.Remove(filepath.Join(dir, en.Name()))
					return true
				}
			}
		}
		return false
	}, hangGuard, 50*time.Millisecond, "a %s download", ext)
	return data
}

// 10. The org page: poller health history, risk activity, most attacked
// users and the ThreatInsight attacks on a timeline.
func TestDashboardOrgPage(t *testing.T) {
	hl := poll.NewHealthLog(0, 0)
	for i := range 12 {
		st := poll.Status{Tenant: "acme", State: "caught_up"}
		if i == 4 {
			st = poll.Status{Tenant: "acme", State: "backing_off", ConsecutiveFailures: 2, LastError: "okta: 429 rate limited"}
		}
		hl.Record(now0.Add(-time.Hour+time.Duration(i)*5*time.Minute), []poll.Status{st})
	}
	e := newEnvWith(t, testTenants(), func(s *Settings) { s.HealthLog = hl.Windows })
	e.write(fixtureBatches()...)
	e.writeFactors(fixtureUpdates())
	e.write(store.Batch{Tenant: "acme", Events: []event.Event{
		attackMark("atk-1", "security.attack.start", 50*time.Hour), attackMark("atk-2", "security.attack.end", 40*time.Hour),
		attackMark("atk-3", "security.attack.start", 5*time.Hour),
	}, DeadLetters: []store.DeadLetter{{Reason: "invalid_json", Payload: []byte("{"), ReceivedAt: now0.Add(-3 * time.Hour)}}})
	e.setStatuses(poll.Status{Tenant: "acme", State: "backing_off", LastPoll: now0.Add(-time.Minute), LastError: "okta: 429 rate limited",
		ConsecutiveFailures: 2, NewestPublished: now0.Add(-2 * time.Minute), LastCursorAdvance: now0.Add(-2 * time.Minute)})
	dir := screenshotDir(t)
	ctx := newBrowser(t)
	pe := watchErrors(t, ctx)
	signIn(t, ctx, e.srv.URL+"/#/", tokenAll, "home")
	do(t, ctx, chromedp.Click(chromedp.CSS(`#poller-problems tr[data-org="acme"] a`)), ready("org"))
	require.Equal(t, "#/org/acme", evalJS[string](t, ctx, `location.hash`))

	require.Equal(t, []string{"org-health", "org-activity", "org-users", "org-attacks", "org-contacts"},
		texts(t, ctx, `[...document.querySelectorAll('#org-sections > section')].map(s => s.id)`), "the registered sections, in order")
	for id, st := range sectionStates(t, ctx) {
		require.Equal(t, "ready", st, id)
	}
	require.Contains(t, value(t, ctx, chromedp.Text(chromedp.CSS("#org-health"))), "429 rate limited")
	require.True(t, evalJS[bool](t, ctx, `(() => { const ch = Chart.getChart(document.querySelector('#org-health-chart'));
  const by = Object.fromEntries(ch.data.datasets.map(d => [d.label, d.data]));
  return by['kept events'].reduce((a, b) => a + b, 0) === 8 + 1 + 3 && by['dead letters'].reduce((a, b) => a + b, 0) === 1 && by['max lag'].some(v => v > 0); })()`),
		"health chart: acme's kept events of the week, the dead letter, lags")
	require.True(t, evalJS[bool](t, ctx, chartDrawn("#org-activity canvas")), "activity drawn")
	require.Equal(t, []string{"", "", "", "", "warn", "", "", "", "", "", "", ""},
		texts(t, ctx, `[...document.querySelectorAll('#poll-history .poll-strip span')].map(s => s.className)`), "poll failures over time")
	require.Contains(t, value(t, ctx, chromedp.Text(chromedp.CSS("#poll-history"))), "1 of 12 with failures; last error okta: 429 rate limited")
	require.Equal(t, []string{alice.id, carol.id, bob.id}, texts(t, ctx, `[...document.querySelectorAll('#org-top-users tbody tr')].map(r => r.dataset.user)`), "by score")
	bars := evalJS[[]map[string]any](t, ctx, `[...document.querySelectorAll('#attack-timeline .attack')].map(b => ({ongoing: b.classList.contains('ongoing'), width: b.getBoundingClientRect().width, left: parseFloat(b.style.left)}))`)
	require.Len(t, bars, 2)
	require.Equal(t, false, bars[0]["ongoing"])
	require.Equal(t, true, bars[1]["ongoing"])
	require.Greater(t, bars[0]["width"].(float64), 0.0)
	require.Less(t, bars[0]["left"].(float64), bars[1]["left"].(float64))
	require.Equal(t, []string{"ended", "ongoing"}, texts(t, ctx, `[...document.querySelectorAll('#attack-list tbody tr')].map(r => r.className)`))
	saveScreenshot(t, ctx, dir, "org-page.png")

	// An org the token may not read.
	do(t, ctx, chromedp.Click(chromedp.CSS("#logout")), ready("login"))
	signIn(t, ctx, e.srv.URL+"/#/org/globex", tokenAcme, "org")
	require.Equal(t, "empty", sectionStates(t, ctx)["org-missing"])
	pe.RequireNone(t)
}
