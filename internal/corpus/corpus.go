// Package corpus reads the real third-party Okta events kept next to the
// repository (../shared/corpus/okta): one JSON event per line in *.jsonl
// files, labelled in labels.jsonl. Tests of several packages feed them to
// the pipeline.
package corpus

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
)

// Line is one event of the corpus.
type Line struct {
	Loc string // "file.jsonl:N", N 1-based, as labels.jsonl cites it
	Raw []byte
}

// Files lists the corpus's event files (labels.jsonl aside), sorted; none
// when dir does not exist.
func Files(dir string) []string {
	names, _ := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	out := names[:0]
	for _, n := range names {
		if filepath.Base(n) != "labels.jsonl" {
			out = append(out, n)
		}
	}
	return out
}

// Read returns every non-blank line of the event files in dir.
func Read(dir string) ([]Line, error) {
	var out []Line
	for _, name := range Files(dir) {
		data, err := os.ReadFile(name)
		if err != nil {
			return nil, err
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(nil, 16<<20)
		for n := 1; sc.Scan(); n++ {
			if len(bytes.TrimSpace(sc.Bytes())) == 0 {
				continue
			}
			out = append(out, Line{Loc: fmt.Sprintf("%s:%d", filepath.Base(name), n), Raw: bytes.Clone(sc.Bytes())})
		}
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	return out, nil
}
