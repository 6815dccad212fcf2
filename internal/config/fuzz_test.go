package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const fuzzSecret = "FUZZ-ENV-SECRET"

// FuzzParse asserts Parse never panics, returns either a Config or an
// *Error with problems, and never puts an environment value in a message.
func FuzzParse(f *testing.F) {
	files, err := filepath.Glob("testdata/*.yaml")
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range append(files, examplePath) {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{
		"", "~", "[]", "tenants: [~]", "poll: *a", "a: &a [*a]", "tenants:\n- &t {name: a}\n- *t",
		"clickhouse: {password: '${X'}", "log: {level: '${UNSET}${X}'}", "poll: {interval: '${X}'}",
		"tenants: [{auth: {method: private_key_jwt, private_key: '${X}'}}]",
		"tenants: [{auth: {method: private_key_jwt, private_key_file: '${X}'}}]",
		"tenants: [{base_url: '${X}'}]", "<<: {a: 1}", "? [a]\n: b",
	} {
		f.Add([]byte(s))
	}
	env := func(name string) (string, bool) {
		if strings.HasPrefix(name, "UNSET") {
			return "", false
		}
		return fuzzSecret, true
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse(data, env)
		if err == nil {
			if cfg == nil {
				t.Fatal("nil Config and nil error")
			}
			return
		}
		if cfg != nil {
			t.Fatal("Config returned with an error")
		}
		var cfgErr *Error
		if !errors.As(err, &cfgErr) || len(cfgErr.Problems) == 0 {
			t.Fatalf("error is not an *Error with problems: %v", err)
		}
		if !strings.Contains(string(data), fuzzSecret) && strings.Contains(err.Error(), fuzzSecret) {
			t.Fatalf("an environment value is in the error:\n%s", err)
		}
	})
}
