// Package browsertest drives Debian's headless Chromium (chromedp) for the
// tests of the dashboard: starting it with a fresh profile, running actions
// with a deadline, collecting the page's JavaScript errors and saving
// screenshots for people. Under CI=true a missing Chromium fails the test
// instead of skipping it.
package browsertest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// browserInstallHint says how to get the browser the dashboard test drives.
const browserInstallHint = "apt-get install -y chromium"

// Chromium returns Debian's chromium (or another Chrome on PATH), or
// skips t, failing it when CI=true.
func Chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "no chromium on PATH: install it with `" + browserInstallHint + "`"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// New starts a headless Chromium with its profile in profile (a fresh
// temporary directory when empty) and returns a tab's context; everything
// stops when t ends.
func New(t *testing.T, profile string) context.Context {
	t.Helper()
	if profile == "" {
		profile = t.TempDir()
	}
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(Chromium(t)),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1400, 1000),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
	})
	// Start the browser now, without a deadline (it would stop the
	// browser), so a failure to launch is reported as such.
	require.NoError(t, chromedp.Do(ctx), "start chromium")
	return ctx
}

// ScreenshotDir is where a browser test saves what it saw:
// $RISKPIPE_SCREENSHOTS, else testdata/screenshots of the test's package
// (ignored by git).
func ScreenshotDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("RISKPIPE_SCREENSHOTS")
	if dir == "" {
		dir = filepath.Join("testdata", "screenshots")
	}
	require.NoError(t, os.MkdirAll(dir, 0o755))
	abs, err := filepath.Abs(dir)
	require.NoError(t, err)
	return abs
}

// HangGuard bounds every wait of a browser test (Do, Value, and the
// tests' waits for a DOM condition): a guard against a page that never
// gets ready, not an expectation of speed (Chromium and the API under the
// race detector on a loaded machine take seconds for what is instant on an
// idle one).
const HangGuard = time.Minute

// Do runs actions with a deadline, so a page that never gets ready fails
// the test instead of hanging it.
func Do(t *testing.T, ctx context.Context, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, HangGuard)
	defer cancel()
	require.NoError(t, chromedp.Do(ctx, actions...))
}

// Value runs one action returning a value, with a deadline.
func Value[T any](t *testing.T, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, HangGuard)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	require.NoError(t, err)
	return v
}

// PageErrors collects the uncaught exceptions and console.error calls of
// the tab in ctx.
type PageErrors struct {
	mu   sync.Mutex
	errs []string
}

// WatchErrors starts collecting the errors of the tab in ctx.
func WatchErrors(t *testing.T, ctx context.Context) *PageErrors {
	t.Helper()
	pe := &PageErrors{}
	require.NoError(t, chromedp.Listen(ctx, func(ev any) {
		var msg string
		switch ev := ev.(type) {
		case *runtime.EventExceptionThrown:
			msg = exceptionText(ev.ExceptionDetails)
		case runtime.EventExceptionThrown:
			msg = exceptionText(ev.ExceptionDetails)
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError {
				msg = fmt.Sprintf("console.error %v", ev.Args)
			}
		}
		if msg != "" {
			pe.mu.Lock()
			pe.errs = append(pe.errs, msg)
			pe.mu.Unlock()
		}
	}))
	return pe
}

func exceptionText(d *runtime.ExceptionDetails) string {
	if d == nil {
		return "exception"
	}
	if d.Exception != nil && d.Exception.Description != "" {
		return d.Exception.Description
	}
	return d.Text
}

// RequireNone fails t when the page had any.
func (pe *PageErrors) RequireNone(t *testing.T) {
	t.Helper()
	pe.mu.Lock()
	defer pe.mu.Unlock()
	require.Empty(t, pe.errs, "JavaScript errors in the page")
}

// Screenshot writes a PNG of the whole page to dir/name and logs it.
func Screenshot(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	png := Value(t, ctx, chromedp.FullScreenshot(100))
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, png, 0o644))
	t.Logf("screenshot: %s", p)
}

// RunJS runs JavaScript for its effect.
func RunJS(js string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := chromedp.Evaluate[any](js)(ctx, t)
		return chromedp.Void{}, err
	}
}

// Eval evaluates js and returns its value.
func Eval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	return Value(t, ctx, chromedp.Evaluate[T](js))
}
