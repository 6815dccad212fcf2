package classify

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/event"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// corpusDir holds third-party Okta events, outside this repository.
const corpusDir = "../../../shared/corpus/okta"

type corpusFile struct {
	name  string
	lines []json.RawMessage
}

// readCorpus returns every *.jsonl event file of the corpus (labels.jsonl
// aside), sorted by name. Without the corpus the test is skipped, or fails
// when CI=true.
func readCorpus(t testing.TB) []corpusFile {
	t.Helper()
	names, _ := filepath.Glob(filepath.Join(corpusDir, "*.jsonl"))
	if len(names) == 0 {
		if os.Getenv("CI") == "true" {
			t.Fatalf("corpus %s missing", corpusDir)
		}
		t.Skipf("corpus %s missing", corpusDir)
	}
	var files []corpusFile
	for _, name := range names {
		if filepath.Base(name) == "labels.jsonl" {
			continue
		}
		data, err := os.ReadFile(name)
		require.NoError(t, err)
		f := corpusFile{name: filepath.Base(name)}
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(nil, 16<<20)
		for sc.Scan() {
			f.lines = append(f.lines, bytes.Clone(sc.Bytes()))
		}
		require.NoError(t, sc.Err())
		files = append(files, f)
	}
	return files
}

// TestCorpus runs every corpus event through Page (one page per file, one
// classifier for all, as if one tenant), checks the accounting, checks that
// every event labelled risk_related is kept, and compares each event's fate
// with testdata/corpus.golden (go test -update rewrites it).
func TestCorpus(t *testing.T) {
	files := readCorpus(t)
	c := New(nil)
	var golden strings.Builder
	golden.WriteString("# file:line\tevent id\teventType\tfate (kept:<category> [user] | drop:<reason> | dead:<reason>)\n")
	fate := map[string]string{} // "file:line" → fate
	total, kept := 0, 0
	for _, f := range files {
		res := c.Page(f.lines, testNow)
		requireBalanced(t, len(f.lines), res)
		total += len(f.lines)
		kept += len(res.Kept)
		// Kept preserves input order: pair kept events back with their lines.
		k, d := 0, 0
		for i, raw := range f.lines {
			loc := fmt.Sprintf("%s:%d", f.name, i+1)
			e, err := event.Decode(raw, testNow)
			var line string
			if err != nil {
				line = fmt.Sprintf("%s\t-\t-\tdead:%s", loc, res.DeadLetters[d].Reason)
				d++
			} else if cat, reason := c.Decide(&e); cat != "" {
				got := res.Kept[k]
				k++
				require.Equal(t, e.ID, got.ID)
				require.Equal(t, cat, got.Category)
				line = fmt.Sprintf("%s\t%s\t%s\tkept:%s", loc, e.ID, e.EventType, cat)
				if got.UserID != "" || got.UserLogin != "" {
					line += fmt.Sprintf(" user=%s/%s", got.UserID, got.UserLogin)
				}
			} else {
				line = fmt.Sprintf("%s\t%s\t%s\tdrop:%s", loc, e.ID, e.EventType, reason)
			}
			fate[loc] = line[strings.LastIndexByte(line, '\t')+1:]
			golden.WriteString(line + "\n")
		}
		require.Equal(t, len(res.Kept), k)
		require.Equal(t, len(res.DeadLetters), d)
	}
	require.Positive(t, total)

	// Every event labelled risk_related is kept.
	labels, err := os.ReadFile(filepath.Join(corpusDir, "labels.jsonl"))
	require.NoError(t, err)
	riskRelated := 0
	for l := range bytes.Lines(labels) {
		var lab struct {
			Source      string `json:"source"`
			Line        int    `json:"line"`
			RiskRelated any    `json:"risk_related"`
		}
		require.NoError(t, json.Unmarshal(l, &lab))
		loc := fmt.Sprintf("%s:%d", lab.Source, lab.Line)
		require.Contains(t, fate, loc)
		if lab.RiskRelated == true {
			riskRelated++
			require.True(t, strings.HasPrefix(fate[loc], "kept:"), "%s is risk_related but %s", loc, fate[loc])
		}
	}
	require.Positive(t, riskRelated)

	compareGolden(t, "testdata/corpus.golden", golden.String())
}

func compareGolden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test -update to create %s", path)
	require.Equal(t, string(want), got, "fates changed: review, then go test -update")
}
