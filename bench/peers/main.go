package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"
)

// figure is one measured value, in the shape scripts/bench.sh collects.
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

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: peers river|bare -db URL [-n N] …")
		os.Exit(2)
	}
	cmd := os.Args[1]
	fs := flag.NewFlagSet(cmd, flag.ExitOnError)
	db := fs.String("db", "", "database URL (a database of the peer's own)")
	n := fs.Int("n", 200000, "jobs to preload and work")
	workers := fs.Int("workers", 100, "River: MaxWorkers of the queue")
	tuned := fs.Bool("tuned", false, "River: fetch cooldown 2 ms and fetch poll 20 ms instead of the defaults")
	batch := fs.Int("batch", 100, "bare: rows per claim")
	label := fs.String("label", "", "name of the figure (default: derived from the flags)")
	_ = fs.Parse(os.Args[2:])
	if *db == "" {
		fmt.Fprintln(os.Stderr, "peers: -db is required")
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	var err error
	switch cmd {
	case "river":
		name := *label
		if name == "" {
			name = fmt.Sprintf("river_default_w%d", *workers)
			if *tuned {
				name = fmt.Sprintf("river_tuned_w%d", *workers)
			}
		}
		err = runRiver(ctx, *db, *n, *workers, *tuned, name)
	case "bare":
		name := *label
		if name == "" {
			name = fmt.Sprintf("bare_batch%d", *batch)
		}
		err = runBare(ctx, *db, *n, *batch, name)
	default:
		err = fmt.Errorf("unknown command %q (river or bare)", cmd)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "peers:", err)
		os.Exit(1)
	}
}
