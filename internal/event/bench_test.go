package event

import (
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// BenchmarkDecode decodes a realistic 2 KB user.session.start (the most
// common event, which the classifier then drops).
func BenchmarkDecode(b *testing.B) {
	raw, err := os.ReadFile("testdata/session_start.json")
	require.NoError(b, err)
	now := time.Now()
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(raw, now); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeStd is the same decode through encoding/json (the
// reference semantics, decodeStd), for comparison.
func BenchmarkDecodeStd(b *testing.B) {
	raw, err := os.ReadFile("testdata/session_start.json")
	require.NoError(b, err)
	now := time.Now()
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := decodeStd(raw, now); !ok {
			b.Fatal("decode failed")
		}
	}
}
