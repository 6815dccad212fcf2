package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/riskpipe/riskpipe/internal/config"
	"github.com/riskpipe/riskpipe/internal/store"
)

// demoFinishGuard bounds how long the demo waits, once --duration has
// passed, for what it shows: a hang guard (the demo then stops anyway and
// says what is missing), not an expectation of speed. On a loaded machine
// an org's first pages can come late; the demo waits for them rather than
// print a summary without them.
const demoFinishGuard = 5 * time.Minute

// demoFinish tells, once --duration has passed, what the demo still waits
// for before it stops.
type demoFinish struct {
	cfg     config.Config
	st      *store.Store
	reader  *store.Reader
	tenants []string
}

func newDemoFinish(cfg config.Config) *demoFinish {
	f := &demoFinish{cfg: cfg}
	for _, t := range cfg.Tenants {
		f.tenants = append(f.tenants, t.Name)
	}
	return f
}

// missing says what is still to come ("" when nothing): every org's most
// attacked user (an attack factor above 0 now, as the summary reads it)
// and the end of the response demo, when it runs.
func (f *demoFinish) missing(ctx context.Context, responseStarted bool, responseDone <-chan struct{}) string {
	var out []string
	if responseStarted {
		select {
		case <-responseDone:
		default:
			out = append(out, "the response demo's action")
		}
	}
	if err := f.open(ctx); err != nil {
		return strings.Join(append(out, "ClickHouse: "+err.Error()), "; ")
	}
	qctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	top, err := f.reader.TopUsers(qctx, f.tenants, 1, time.Now(), f.cfg.Score)
	if err != nil {
		return strings.Join(append(out, "ClickHouse: "+err.Error()), "; ")
	}
	var none []string
	for _, t := range f.tenants {
		if len(top[t]) == 0 {
			none = append(none, t)
		}
	}
	if len(none) > 0 {
		out = append(out, "an attacked user in "+strings.Join(none, ", "))
	}
	return strings.Join(out, "; ")
}

func (f *demoFinish) open(ctx context.Context) error {
	if f.reader != nil {
		return nil
	}
	octx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	st, err := store.Open(octx, f.cfg.ClickHouse, nil)
	if err != nil {
		return err
	}
	f.st, f.reader = st, st.Reader()
	return nil
}

func (f *demoFinish) close() {
	if f.st != nil {
		_ = f.st.Close()
	}
}

// describe is how the demo reports a stop by the guard.
func (f *demoFinish) describe(missing string) string {
	return fmt.Sprintf("stopping %s after --duration without %s", demoFinishGuard, missing)
}
