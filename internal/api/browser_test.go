package api

import (
	"context"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/riskpipe/riskpipe/internal/browsertest"
)

// The dashboard tests' short names for internal/browsertest.

func newBrowser(t *testing.T) context.Context { t.Helper(); return browsertest.New(t, "") }

func newBrowserIn(t *testing.T, profile string) context.Context {
	t.Helper()
	return browsertest.New(t, profile)
}

func screenshotDir(t *testing.T) string { t.Helper(); return browsertest.ScreenshotDir(t) }

func do(t *testing.T, ctx context.Context, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	browsertest.Do(t, ctx, actions...)
}

func value[T any](t *testing.T, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	return browsertest.Value(t, ctx, a)
}

type pageErrors = browsertest.PageErrors

func watchErrors(t *testing.T, ctx context.Context) *pageErrors {
	t.Helper()
	return browsertest.WatchErrors(t, ctx)
}

func saveScreenshot(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	browsertest.Screenshot(t, ctx, dir, name)
}

// hangGuard bounds a browser test's waits for a DOM condition.
const hangGuard = browsertest.HangGuard

func runJS(js string) chromedp.Action[chromedp.Void] { return browsertest.RunJS(js) }
