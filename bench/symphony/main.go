package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// figure is one measured value. Name keys it in the report.
type figure struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
	Unit  string  `json:"unit"`
	Note  string  `json:"note,omitempty"`
}

func emit(f figure) {
	b, _ := json.Marshal(f)
	fmt.Println(string(b))
}

const usage = `usage: symphony-bench COMMAND [flags]

commands: throughput, memory, pacing, batching, latency, dispatch, history, dashboard, report (see -h of each)
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, time.Hour)
	defer cancel()

	cmd, args := os.Args[1], os.Args[2:]
	fs := flag.NewFlagSet(cmd, flag.ExitOnError)
	var err error
	switch cmd {
	case "throughput":
		err = runThroughput(ctx, fs, args)
	case "pacing":
		err = runPacing(ctx, fs, args)
	case "batching":
		err = runBatching(ctx, fs, args)
	case "latency":
		err = runLatency(ctx, fs, args)
	case "dispatch":
		err = runDispatch(ctx, fs, args)
	case "history":
		err = runHistory(ctx, fs, args)
	case "dashboard":
		err = runDashboard(ctx, fs, args)
	case "memory":
		err = runMemory(ctx, fs, args)
	case "report":
		err = runReport(ctx, fs, args)
	default:
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "symphony-bench %s: %v\n", cmd, err)
		os.Exit(1)
	}
}

// ints parses "0,1000000,10000000".
func ints(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 0 {
			return nil, fmt.Errorf("%q is not a list of whole numbers", s)
		}
		out = append(out, n)
	}
	return out, nil
}
