// Command huifang is Huifang's one binary: the server, the demo, and the
// operator's tools (migrate, import, sources, sample data, benchmarks).
//
// Configuration comes from environment variables, overridable by flags:
//
//	DATABASE_URL         Postgres (default: a private embedded Postgres for serve/demo)
//	REDIS_URL            Redis (default: a private embedded Redis for serve/demo)
//	HTTP_ADDR            where serve and demo listen (default 127.0.0.1:8080)
//	HUIFANG_DATA_DIR     where the embedded services keep their data
//	HUIFANG_ADMIN_TOKEN  the API's bearer token
//	HUIFANG_LOG_LEVEL    debug, info (default), warn, error
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// command is one subcommand.
type command struct {
	summary string
	run     func(ctx context.Context, c *cli, args []string) error
}

// cli carries the process's standard streams and environment, so commands
// can be run from tests.
type cli struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
}

var commands map[string]command

func init() {
	commands = map[string]command{
		"serve":   {"run the server: API, intake pulls, (later) dialer and console", serveCmd},
		"demo":    {"run everything locally with embedded services and sample jobs", demoCmd},
		"migrate": {"apply database migrations (up | status | down)", migrateCmd},
		"import":  {"import work orders from CSV or JSONL files", importCmd},
		"source":  {"manage intake sources and pull from upstream (add | list | pull | watermark | rejects)", sourceCmd},
		"sample":  {"write realistic sample work orders to a file", sampleCmd},
		"survey": {"validate and preview survey definitions", func(ctx context.Context, c *cli, args []string) error {
			return surveyCommand(ctx, args, c.stdin, c.stdout, c.stderr)
		}},
		"campaign":  {"manage campaigns (create | update | list | show | activate | pause | resume | complete | archive | preview)", campaignCmd},
		"audit":     {"claim checks, the review queue and exports (run | flags | export | report | catalog | config | token | conflict)", auditCmd},
		"bench":     {"run a benchmark (import)", benchCmd},
		"user":      {"console users (add | passwd | list | disable | enable)", userCmd},
		"twiliosim": {"run the Twilio simulator on its own (for load tests and trials)", twiliosimCmd},
		"version": {"print the version", func(_ context.Context, c *cli, _ []string) error {
			fmt.Fprintln(c.stdout, "huifang", version)
			return nil
		}},
	}
}

func usage(w io.Writer) {
	fmt.Fprint(w, `Huifang (回访) — verification calls and SMS surveys after installs and repairs.

Usage: huifang COMMAND [flags] [args]

Commands:
`)
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprint(w, `
Run "huifang COMMAND -h" for a command's flags.

Environment: DATABASE_URL and REDIS_URL point at real services; without
them serve and demo start private ones (data in HUIFANG_DATA_DIR). HTTP_ADDR
is where the server listens; HUIFANG_ADMIN_TOKEN is the API's bearer token.
`)
}

func main() {
	c := &cli{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := c.run(ctx, os.Args[1:])
	stop()
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "huifang:", err)
		}
		os.Exit(exitCode(err))
	}
}

// exitCodeError carries a specific exit status.
type exitCodeError struct {
	code int
	err  error
}

func (e *exitCodeError) Error() string { return e.err.Error() }
func (e *exitCodeError) Unwrap() error { return e.err }

func exitCode(err error) int {
	var ec *exitCodeError
	if errors.As(err, &ec) {
		return ec.code
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	return 1
}

func (c *cli) run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		usage(c.stderr)
		return &exitCodeError{2, errors.New("no command given")}
	}
	name := args[0]
	switch name {
	case "-h", "-help", "--help", "help":
		usage(c.stdout)
		return nil
	case "--version", "-version":
		name = "version"
	}
	cmd, ok := commands[name]
	if !ok {
		usage(c.stderr)
		return &exitCodeError{2, fmt.Errorf("unknown command %q", name)}
	}
	return cmd.run(ctx, c, args[1:])
}

// parseInterspersed parses flags that may come before, between or after
// positional arguments ("import a.csv --skip-invalid b.csv") and returns the
// positional ones.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func newFlagSet(c *cli, name, usageLine string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	fs.Usage = func() {
		fmt.Fprintf(c.stderr, "usage: huifang %s\n\nFlags:\n", usageLine)
		fs.PrintDefaults()
	}
	return fs
}

// envOr returns the environment variable's value, or def.
func (c *cli) envOr(name, def string) string {
	if v := strings.TrimSpace(c.getenv(name)); v != "" {
		return v
	}
	return def
}
