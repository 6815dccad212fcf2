package app

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/config"
)

// With reload.watch, a burst of changes to the config file (an editor
// writing in steps, a rename over it) reloads once, when the file has been
// quiet for reload.debounce after the last change. The debounce timer is
// the test's: each change restarts it, and only the last one counts.
func TestReloadWatchDebounce(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "riskpipe.yaml")
	require.NoError(t, os.WriteFile(path, []byte("# v0\n"), 0o600))
	other := filepath.Join(dir, "notes.txt")

	cfg := config.Default()
	cfg.Reload.Watch = true
	cfg.Reload.Debounce = 250 * time.Millisecond
	src := &reloadable{}
	src.set(&cfg)
	signals := make(chan os.Signal, 1)
	a, err := New(Options{Config: &cfg, Reload: src.load, ConfigPath: path, ReloadSignals: signals})
	require.NoError(t, err)

	var (
		mu     sync.Mutex
		timers []chan time.Time
	)
	a.reloader.after = func(d time.Duration) <-chan time.Time {
		require.Equal(t, cfg.Reload.Debounce, d)
		c := make(chan time.Time, 1)
		mu.Lock()
		timers = append(timers, c)
		mu.Unlock()
		return c
	}
	started := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(timers)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); a.reloader.run(ctx) }()
	defer func() { cancel(); <-done }()

	// The watch is set up asynchronously: write until a change is seen.
	eventually(t, waitFor, func() bool {
		require.NoError(t, os.WriteFile(path, []byte("# v1\n"), 0o600))
		return started() > 0
	})
	n := started()
	require.NoError(t, os.WriteFile(other, []byte("x"), 0o600)) // (concerns: not this file)
	// A burst: two writes and an editor's rename over the file.
	require.NoError(t, os.WriteFile(path, []byte("# v2\n"), 0o600))
	require.NoError(t, os.WriteFile(path, []byte("# v3\n"), 0o600))
	tmp := filepath.Join(dir, ".riskpipe.yaml.swp")
	require.NoError(t, os.WriteFile(tmp, []byte("# v4\n"), 0o600))
	require.NoError(t, os.Rename(tmp, path))
	eventually(t, waitFor, func() bool { return started() >= n+3 }, "each change restarts the quiet period")
	// (and until the events of the burst are all in)
	last := -1
	eventually(t, waitFor, func() bool { k := started(); settled := k == last; last = k; return settled })
	require.Zero(t, src.reads.Load(), "nothing reloads while changes go on")

	// The quiet period of the last change ends: one reload. Earlier
	// timers are dropped: firing them does nothing.
	eventually(t, waitFor, func() bool {
		mu.Lock()
		for _, c := range timers {
			select {
			case c <- time.Now():
			default:
			}
		}
		mu.Unlock()
		return src.reads.Load() >= 1
	})
	require.Equal(t, TriggerWatch, a.ReloadStatus().Trigger)

	// A SIGHUP after it is the second reload, not the third: the dropped
	// timers never fired a reload.
	signals <- syscall.SIGHUP
	eventually(t, waitFor, func() bool { return a.ReloadStatus().Trigger == TriggerSignal })
	require.EqualValues(t, 2, src.reads.Load())
}

// concerns picks the events of the config file (and of a Kubernetes
// ConfigMap's ..data link) out of its directory's.
func TestReloadWatchConcerns(t *testing.T) {
	const path = "/etc/riskpipe/riskpipe.yaml"
	for _, tc := range []struct {
		name string
		op   fsnotify.Op
		want bool
	}{
		{path, fsnotify.Write, true},
		{path, fsnotify.Create, true},
		{path, fsnotify.Rename, true},
		{path, fsnotify.Remove, true},
		{path, fsnotify.Chmod, false},
		{"/etc/riskpipe/notes.txt", fsnotify.Write, false},
		{"/etc/riskpipe/.riskpipe.yaml.swp", fsnotify.Write, false},
		{"/etc/riskpipe/..data", fsnotify.Create, true},
		{"/etc/riskpipe/..data_tmp", fsnotify.Rename, true},
	} {
		require.Equal(t, tc.want, concerns(fsnotify.Event{Name: tc.name, Op: tc.op}, path), "%s %s", tc.op, tc.name)
	}
}
