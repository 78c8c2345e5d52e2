package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/symphonymessenger/symphony/sidecar/ops"
)

// Env is what a command reads and writes: os.Stdout, os.Stderr and os.Getenv in
// production, buffers and a map in tests.
type Env struct {
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
}

// Commands lists the operator commands, for the top-level usage text.
const Commands = `  status    queues, workers, flags and failures at a glance
  failed    list, show, retry or remove dead messages (the failure queue)
  flags     list flags, or set one (audited under your name)
  dispatch  send a test email or SMS through the queue
  drain     stop claiming everywhere and wait until nothing is processing`

// IsCommand reports whether name is an operator command.
func IsCommand(name string) bool {
	_, ok := commands[name]
	return ok
}

type command func(ctx context.Context, c *cli, args []string) error

var commands map[string]command

func init() {
	commands = map[string]command{
		"status":   runStatus,
		"failed":   runFailed,
		"flags":    runFlags,
		"dispatch": runDispatch,
		"drain":    runDrain,
	}
}

// Run runs operator command args[0] with the rest of args and returns the exit
// code: 0 done, 1 failed, 2 usage error.
func Run(ctx context.Context, args []string, env Env) int {
	if len(args) == 0 || !IsCommand(args[0]) {
		fmt.Fprintf(env.Stderr, "symphony: unknown operator command %q\n", strings.Join(args, " "))
		return 2
	}
	c := &cli{env: env}
	defer c.close()
	err := commands[args[0]](ctx, c, args[1:])
	var u usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &u):
		if u.msg != "" {
			fmt.Fprintf(env.Stderr, "symphony %s: %s\n", args[0], u.msg)
		}
		if u.usage != "" {
			fmt.Fprintf(env.Stderr, "\n%s", u.usage)
		}
		return 2
	default:
		fmt.Fprintf(env.Stderr, "symphony %s: %v\n", args[0], err)
		return 1
	}
}

// usageError is a mistake in how a command was called (exit 2). An empty msg
// means the flag package has already said what was wrong.
type usageError struct{ msg, usage string }

func (u usageError) Error() string { return u.msg }

func usagef(usage, format string, args ...any) error {
	return usageError{msg: fmt.Sprintf(format, args...), usage: usage}
}

// cli holds one command's environment and its database connection.
type cli struct {
	env  Env
	conn *pgx.Conn
}

func (c *cli) out(format string, args ...any) { fmt.Fprintf(c.env.Stdout, format, args...) }

// store connects with DATABASE_URL on first use.
func (c *cli) store(ctx context.Context) (*ops.Store, error) {
	if c.conn == nil {
		url := strings.TrimSpace(c.env.Getenv("DATABASE_URL"))
		if url == "" {
			return nil, usageError{msg: "DATABASE_URL is required (the connection string of the Symphony database)"}
		}
		cfg, err := pgx.ParseConfig(url)
		if err != nil {
			return nil, usageError{msg: fmt.Sprintf("DATABASE_URL: %v", err)}
		}
		cfg.RuntimeParams["application_name"] = "symphony-cli"
		conn, err := pgx.ConnectConfig(ctx, cfg)
		if err != nil {
			return nil, fmt.Errorf("error connecting with DATABASE_URL: %w", err)
		}
		c.conn = conn
	}
	return ops.New(c.conn), nil
}

func (c *cli) close() {
	if c.conn != nil {
		_ = c.conn.Close(context.WithoutCancel(context.Background()))
	}
}

// actor names the operator in audit rows: --actor, else $SYMPHONY_ACTOR, else
// $USER; empty lets the database name its user.
func (c *cli) actor(flagValue string) string {
	for _, v := range []string{flagValue, c.env.Getenv("SYMPHONY_ACTOR"), c.env.Getenv("USER")} {
		if v = strings.TrimSpace(v); v != "" {
			return v
		}
	}
	return ""
}
