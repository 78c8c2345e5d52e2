package chaos

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Settings bound one chaos run in time and count.
type Settings struct {
	Kills     int           // kill -9 of a sidecar, spread over Duration
	Deploys   int           // SIGTERM and start again (a rolling deploy), spread over Duration
	Restarts  int           // PostgreSQL restarts (crash and clean, alternately)
	Messages  int           // dispatched at a steady rate over Duration
	Duration  time.Duration // how long the faults go on; draining comes after
	Sidecars  int           // running at once
	FaultRate float64       // share of provider requests that fail
}

// Short is what plain `go test` runs: enough to exercise every fault, small
// enough for CI.
var Short = Settings{Kills: 3, Deploys: 1, Restarts: 1, Messages: 200, Duration: 12 * time.Second, Sidecars: 3, FaultRate: 0.3}

// Full is what the issue asks of the suite, and what scripts/chaos.sh runs.
var Full = Settings{Kills: 20, Deploys: 5, Restarts: 3, Messages: 3000, Duration: 120 * time.Second, Sidecars: 3, FaultRate: 0.3}

// SettingsFromEnv starts from Short, or Full when SYMPHONY_CHAOS=full, and
// applies SYMPHONY_CHAOS_KILLS, _DEPLOYS, _RESTARTS, _MESSAGES and _SECONDS.
func SettingsFromEnv(getenv func(string) string) (Settings, error) {
	s := Short
	switch mode := strings.TrimSpace(getenv("SYMPHONY_CHAOS")); mode {
	case "", "short":
	case "full":
		s = Full
	default:
		return s, fmt.Errorf("SYMPHONY_CHAOS=%q is not short or full", mode)
	}
	var errs []error
	num := func(name string, dst *int, min int) {
		v := strings.TrimSpace(getenv(name))
		if v == "" {
			return
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < min {
			errs = append(errs, fmt.Errorf("%s=%q is not a whole number of at least %d", name, v, min))
			return
		}
		*dst = n
	}
	secs := int(s.Duration / time.Second)
	num("SYMPHONY_CHAOS_KILLS", &s.Kills, 0)
	num("SYMPHONY_CHAOS_DEPLOYS", &s.Deploys, 0)
	num("SYMPHONY_CHAOS_RESTARTS", &s.Restarts, 0)
	num("SYMPHONY_CHAOS_MESSAGES", &s.Messages, 1)
	num("SYMPHONY_CHAOS_SECONDS", &secs, 1)
	s.Duration = time.Duration(secs) * time.Second
	return s, errors.Join(errs...)
}
