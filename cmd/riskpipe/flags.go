package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"regexp"
	"strings"

	"github.com/riskpipe/riskpipe/internal/config"
)

var errHelp = errors.New("help requested")

func newFlagSet(name, usageLine string, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: riskpipe %s %s\n\nFlags:\n", name, usageLine)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses flags. --help prints the usage to the flag set's output
// (stdout) and is errHelp; anything else wrong is a usage error, which run
// prints to stderr: the flag package's own error message and usage (it
// would print them to the same output as the help) are discarded.
func parse(fs *flag.FlagSet, args []string) error {
	out := fs.Output()
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	fs.SetOutput(out)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.Usage()
			return errHelp
		}
		return usageError{fmt.Errorf("%w (see 'riskpipe %s --help')", err, fs.Name())}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))}
	}
	return nil
}

// loadConfig loads and validates the config; problems are usage errors.
func loadConfig(path string) (*config.Config, error) {
	if path == "" {
		return nil, usageError{errors.New("--config is required")}
	}
	cfg, err := config.Load(path, os.LookupEnv)
	if err != nil {
		return nil, usageError{err}
	}
	return cfg, nil
}

// loadConfigWithoutCredentials loads the config for commands that read
// only ClickHouse (status): environment variables that only the API
// tokens (api.tokens) and the Okta credentials (tenants[].auth) use need
// not be set. Any other problem is reported as by loadConfig.
func loadConfigWithoutCredentials(path string) (*config.Config, error) {
	cfg, err := loadConfig(path)
	var ce *config.Error
	if err == nil || !errors.As(err, &ce) {
		return cfg, err
	}
	for _, p := range ce.Problems {
		if !credentialPath.MatchString(p.Path) {
			return nil, err
		}
	}
	// Only credentials are wrong or missing: load again with placeholders
	// for the unset variables (they end up in credentials only, which
	// this command never uses). Problems that remain are real ones.
	placeholder := func(name string) (string, bool) {
		if v, ok := os.LookupEnv(name); ok {
			return v, true
		}
		return "unset-" + name + "-0123456789abcdef", true
	}
	cfg2, err2 := config.Load(path, placeholder)
	if err2 != nil {
		return nil, err
	}
	return cfg2, nil
}

// credentialPath matches the key paths of the API tokens and the tenants'
// Okta credentials.
var credentialPath = regexp.MustCompile(`^(api\.tokens(\[\d+\])?(\..*)?|tenants\[\d+\]\.auth(\..*)?)$`)

// newLogger builds the process logger from the config and flags.
func newLogger(w io.Writer, format, level string) *slog.Logger {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		lv = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: lv}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
