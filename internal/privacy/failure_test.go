package privacy

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/chserver"
	"github.com/riskpipe/riskpipe/internal/chtest"
	"github.com/riskpipe/riskpipe/internal/store"
)

// A deletion stopped mid-way (the process dies after its mutations were
// sent) is recorded as failed, never done; running it again finishes the
// job with the same ground truth.
func TestDeletionCrashThenRetry(t *testing.T) {
	t.Parallel()
	for _, step := range []string{"deletes-sent", "mapping-deletes-sent"} {
		t.Run(step, func(t *testing.T) { t.Parallel(); testCrashThenRetry(t, step) })
	}
}

func testCrashThenRetry(t *testing.T, at string) {
	f := newFixture(t)
	f.populate(t)
	before := f.snapshot(t)
	s := f.service(t, Options{})
	ctx, crash := context.WithCancel(context.Background())
	s.hook = func(step string) {
		if step == at {
			crash()
		}
	}
	res, err := s.Delete(ctx, joren.email, "test")
	require.Error(t, err)
	require.NotNil(t, res)
	require.False(t, res.Done())
	require.Equal(t, StatusFailed, res.Status)
	st, err := s.Request(context.Background(), res.RequestID)
	require.NoError(t, err)
	require.Equal(t, StatusFailed, st.Status)
	require.NotZero(t, st.Remaining, "a failed deletion never records nothing left")

	// "Restart": a new service runs the request again.
	s2 := f.service(t, Options{})
	first := res.RequestID
	// As if the process had died before recording the failure.
	require.NoError(t, s.writeAudit(context.Background(), audit{RequestID: first, Kind: KindDeletion,
		EmailHash: s.h.Email("joren.m@example.com"), StartedAt: time.Now()}, StatusRunning, "round 1"))
	res, err = s2.Delete(context.Background(), joren.email, "test")
	require.NoError(t, err)
	require.True(t, res.Done(), "%+v", res)
	st, err = s2.Request(context.Background(), first)
	require.NoError(t, err)
	require.Equal(t, StatusFailed, st.Status)
	require.Equal(t, "interrupted; finished by request "+res.RequestID, st.Detail)
	after := f.snapshot(t)
	assertGroundTruth(t, before, after)
	f.assertNoBookkeeping(t, joren)
	// The first request's key tables were dropped once its mutations were done.
	var n uint64
	require.NoError(t, f.conn.QueryRow(context.Background(), "SELECT count() FROM system.tables WHERE database = ? AND startsWith(name, 'privacy_tmp_')", f.db).Scan(&n))
	require.Zero(t, n)
}

// assertGroundTruth: joren is nowhere; every row not about him is intact.
func assertGroundTruth(t *testing.T, before, after map[string][]string) {
	t.Helper()
	for table, rows := range before {
		for _, r := range rows {
			if !mentions(r, joren) {
				require.Contains(t, after[table], r, table)
			}
		}
		for _, r := range after[table] {
			require.False(t, mentions(r, joren), "%s: %s", table, r)
		}
	}
}

// Events arriving while a deletion runs: others' are kept intact; the
// person's, written between rounds, are found by the proof and deleted by
// the next round, so done still means nothing left.
func TestDeletionDuringIngestion(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.populate(t)
	before := f.snapshot(t)
	s := f.service(t, Options{})
	var none person
	var once sync.Once
	s.hook = func(step string) {
		if step == "deletes-sent" {
			once.Do(func() {
				// joren signs in again while his deletion runs.
				f.insert(t, "risk_events", eventCols, event("acme", "e90", 9, joren, none, joren, nil))
			})
		}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var written []string
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			id := fmt.Sprintf("n%03d", i)
			f.insert(t, "risk_events", eventCols, event("globex", id, i%5, carla, anna, carla, nil))
			written = append(written, id)
		}
	}()
	res, err := s.Delete(context.Background(), joren.email, "test")
	close(stop)
	wg.Wait()
	require.NoError(t, err)
	require.True(t, res.Done(), "%+v", res)
	require.Equal(t, 4, res.Deleted["risk_events"], "e01, e02, e03 and e90 written during the deletion")

	after := f.snapshot(t)
	assertGroundTruth(t, before, after)
	require.NotEmpty(t, written)
	var n uint64
	require.NoError(t, f.conn.QueryRow(context.Background(), "SELECT count() FROM `"+f.db+"`.risk_events FINAL WHERE startsWith(event_id, 'n')").Scan(&n))
	require.Equal(t, uint64(len(written)), n, "every event ingested during the deletion is kept")
}

// ClickHouse failing mid-request: an error and a failed request, never
// done; after ClickHouse is back, running it again finishes it.
func TestDeletionClickHouseDown(t *testing.T) {
	t.Parallel()
	if os.Getenv(chtest.EnvAddr) != "" {
		t.Skip("needs a server this test can stop (not " + chtest.EnvAddr + ")")
	}
	bin, ok := chserver.Available(os.Getenv(chtest.EnvBinary))
	if !ok {
		chtest.Unavailable(t)
	}
	dir := t.TempDir()
	ctx := context.Background()
	srv, err := chserver.Start(ctx, chserver.Options{Binary: bin, DataDir: dir})
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Stop() })
	open := func(srv *chserver.Server) *fixture {
		st, err := store.Open(ctx, chtest.Config(srv, "privacy_down"), nil)
		require.NoError(t, err)
		t.Cleanup(func() { _ = st.Close() })
		require.NoError(t, st.Migrate(ctx))
		return &fixture{st: st, conn: st.Conn(), db: "privacy_down"}
	}
	f := open(srv)
	f.populate(t)
	before := f.snapshot(t)
	require.NotEmpty(t, filesNaming(t, dir, joren), "the data files name joren before the deletion (else the disk check below proves nothing)")
	s := f.service(t, Options{})
	s.hook = func(step string) {
		if step == "deletes-sent" {
			require.NoError(t, srv.Stop())
		}
	}
	dctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	res, err := s.Delete(dctx, joren.email, "test")
	require.Error(t, err)
	require.NotNil(t, res)
	require.False(t, res.Done())
	require.Equal(t, StatusFailed, res.Status)

	srv2, err := chserver.Start(ctx, chserver.Options{Binary: bin, DataDir: dir})
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv2.Stop() })
	f2 := open(srv2)
	s2 := f2.service(t, Options{})
	res, err = s2.Delete(ctx, joren.email, "test")
	require.NoError(t, err)
	require.True(t, res.Done(), "%+v", res)
	assertGroundTruth(t, before, f2.snapshot(t))

	// Nothing on disk names joren: no old part, no mutation_*.txt, no
	// server log line (the .bin files are LZ4-compressed, which keeps
	// short unique strings readable, as the research notes found).
	require.Empty(t, filesNaming(t, dir, joren))
}

// filesNaming lists the files under dir whose bytes contain p's email or
// one of p's ids (case-insensitively).
func filesNaming(t *testing.T, dir string, p person) []string {
	t.Helper()
	var out []string
	require.NoError(t, filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil // a directory removed meanwhile
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil
		}
		low := strings.ToLower(string(b))
		for _, needle := range needlesOf(p) {
			if strings.Contains(low, needle) {
				out = append(out, path)
				break
			}
		}
		return nil
	}))
	return out
}

// TestNudgeRemovesExpiredOldPartsAndDropsNothing: on 18.16 the nudge
// (DROP PARTITION of a partition no table has) removes the parts a merge
// replaced once their lifetime is over, without waiting for the table's
// background task, and leaves every row in place.
func TestNudgeRemovesExpiredOldPartsAndDropsNothing(t *testing.T) {
	f := newFixture(t)
	s := f.service(t, Options{})
	ctx := context.Background()
	nudge, err := s.needsNudge(ctx)
	require.NoError(t, err)
	if !nudge {
		t.Skip("the server removes old parts every second by itself")
	}
	// Two partitions of risk_events (a month and 0), two parts each, merged.
	cols := []string{"tenant", "event_id", "published", "published_note", "raw", "version"}
	month := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 2; i++ {
		f.insert(t, "risk_events", cols,
			[]any{"acme", fmt.Sprintf("m%d", i), month, "", "{}", uint64(1)},
			[]any{"acme", fmt.Sprintf("z%d", i), month, "unparseable", "{}", uint64(1)})
	}
	f.exec(t, "OPTIMIZE TABLE {db}.risk_events PARTITION 202603 FINAL")
	f.exec(t, "OPTIMIZE TABLE {db}.risk_events PARTITION 0 FINAL")
	count := func(q string, args ...any) uint64 {
		var n uint64
		require.NoError(t, f.conn.QueryRow(ctx, q, args...).Scan(&n))
		return n
	}
	oldParts := "SELECT count() FROM system.parts WHERE database = ? AND table = 'risk_events' AND active = 0"
	// Four, or three when ClickHouse merged a partition's two parts before
	// the OPTIMIZE did.
	require.NotZero(t, count(oldParts, f.db), "the merges replaced parts")
	// Their lifetime ends within store.OldPartsLifetime + 1 s; the table's
	// background task comes back only about 10 s after the merges.
	time.Sleep(nudgeAfter + 100*time.Millisecond)
	d := &deletion{s: s}
	require.NoError(t, d.nudge(ctx, map[string]bool{"risk_events/a": true}))
	require.Zero(t, count(oldParts, f.db), "the nudge removed the expired old parts")
	require.Equal(t, uint64(4), count("SELECT count() FROM `"+f.db+"`.risk_events"), "no row dropped")
}
