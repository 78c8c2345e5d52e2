// Command symphony is the Symphony Messenger sidecar: `symphony worker` (the
// default) claims messages from the database and sends them; the operator
// commands (status, failed, flags, dispatch, drain) live in package cli.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/symphonymessenger/symphony/sidecar/app"
	"github.com/symphonymessenger/symphony/sidecar/cli"
	"github.com/symphonymessenger/symphony/sidecar/config"
	"github.com/symphonymessenger/symphony/sidecar/memlimit"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

const usage = `usage: symphony [command]

commands:
  worker    run the sidecar (the default): claim messages and send them
  version   print the version
` + cli.Commands + `

Every command reads DATABASE_URL; the worker's other settings come from the
environment too (see docs/configuration.md). symphony COMMAND --help says more.
`

func run(args []string, stderr io.Writer) int {
	cmd := "worker"
	if len(args) > 0 {
		cmd = args[0]
	}
	switch cmd {
	case "worker":
		return worker(stderr)
	case "version":
		fmt.Println(app.Version)
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stderr, usage)
		return 0
	}
	if cli.IsCommand(cmd) {
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
		defer stop()
		return cli.Run(ctx, args, cli.Env{Stdout: os.Stdout, Stderr: stderr, Getenv: os.Getenv})
	}
	switch cmd {
	default:
		fmt.Fprintf(stderr, "symphony: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
}

func worker(stderr io.Writer) int {
	cfg, err := config.FromEnv(os.Getenv)
	if err != nil {
		fmt.Fprintf(stderr, "symphony: configuration error:\n%v\n", err)
		return 2
	}
	log := newLogger(cfg, stderr)
	mem := memlimit.Apply(os.Getenv)
	log.Info("memory", "cgroup_limit_bytes", mem.CgroupLimit, "go_memory_limit_bytes", mem.MemoryLimit,
		"from_cgroup", mem.FromCgroup, "gogc", mem.GOGC)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		log.Info("signal received: draining; a second signal exits at once")
		stop() // restore default handling so a second signal kills the process
	}()

	m := &app.Main{Config: cfg, Logger: log}
	if err := m.Run(ctx); err != nil {
		log.Error("sidecar failed", "error", err)
		return 1
	}
	return 0
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}
