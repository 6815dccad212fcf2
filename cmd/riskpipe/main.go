// Command riskpipe turns the Okta System Log of many orgs into per-user
// attack factors in ClickHouse.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Set by the linker (-ldflags "-X main.version=...").
var version = "dev"

// Exit codes.
const (
	exitOK      = 0
	exitRuntime = 1
	exitUsage   = 2
)

// usageError marks invalid usage or configuration: exit code 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

type command struct {
	name, summary string
	run           func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"run", "poll every configured org until SIGINT/SIGTERM, then drain and exit", cmdRun},
		{"migrate", "create or upgrade the ClickHouse schema (idempotent)", cmdMigrate},
		{"check", "validate the config, reach ClickHouse and prove each org's System Log is readable", cmdCheck},
		{"status", "show every org's poller health and today's kept events, read from ClickHouse", cmdStatus},
		{"contacts", "list, review or test each org's security contacts (list|review|test)", cmdContacts},
		{"action", "list, propose, approve, reject or revert response actions through the running riskpipe's API", cmdAction},
		{"simulate", "serve simulated Okta orgs (System Log, OAuth, rate limits, faults)", cmdSimulate},
		{"privacy", "answer a privacy request by email: `privacy access` (JSON export) or `privacy delete`", cmdPrivacy},
		{"demo", "run the whole pipeline against the built-in simulator and a local ClickHouse", cmdDemo},
		{"version", "print the version", cmdVersion},
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 { // invalid usage: the usage goes to stderr, like every usage error
		usage(stderr)
		return exitUsage
	}
	if args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stdout)
		return exitOK
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, args[1:], stdout, stderr)
		switch {
		case err == nil, errors.Is(err, errHelp):
			return exitOK
		case errors.As(err, new(usageError)):
			fmt.Fprintf(stderr, "riskpipe %s: %v\n", c.name, err)
			return exitUsage
		default:
			fmt.Fprintf(stderr, "riskpipe %s: %v\n", c.name, err)
			return exitRuntime
		}
	}
	fmt.Fprintf(stderr, "riskpipe: unknown command %q\n\n", args[0])
	usage(stderr)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: riskpipe <command> [flags]\n\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'riskpipe <command> --help' for a command's flags.")
	fmt.Fprintln(w, "Exit codes: 0 success, 1 runtime failure, 2 invalid usage or configuration.")
}

func cmdVersion(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("version", "", stdout)
	if err := parse(fs, args); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "riskpipe %s\n", version)
	return nil
}
