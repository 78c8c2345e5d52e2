package chaos

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"
)

// Column is the tally of one channel (a provider) after a run.
type Column struct {
	Name string // e.g. "email (Resend)"

	Dispatched int
	Succeeded  int
	Dead       int
	Cancelled  int
	NotFinal   int // pending or processing after the drain: must be 0
	Lost       int // dispatched but not in the table: must be 0

	Requests int   // HTTP requests the provider fake received
	Faults   []int // random faults it injected, in FaultNames order

	Accepted   int // messages the provider accepted, repeats included
	Duplicates int // accepted beyond the first per message
	// Unflagged counts duplicates whose row says nothing of it (neither
	// possible_duplicate nor a maybe_sent attempt): must be 0.
	Unflagged int
	// PhantomSuccess counts succeeded rows whose provider id the provider never
	// issued: must be 0.
	PhantomSuccess int

	Attempts          int // attempts recorded in the rows
	LeaseExpired      int // attempts rescued after their sidecar died or lost the database
	Interrupted       int // attempts handed back by a shutdown
	MaybeSent         int // failed attempts that may have reached the provider
	PossibleDuplicate int // succeeded rows marked possible_duplicate
}

// FaultNames labels Column.Faults, matching fakehttp.DefaultMix.
var FaultNames = []string{"500", "503", "429", "hang", "reset", "reset after accept"}

// Tally is the outcome of one run.
type Tally struct {
	Settings Settings
	Elapsed  time.Duration // faults plus draining
	Kills    int           // kill -9 actually done
	Deploys  int           // SIGTERM restarts actually done
	Restarts int           // PostgreSQL restarts actually done
	Columns  []Column
}

// String renders the tally as a table, one column per channel and a total.
func (t Tally) String() string {
	var b strings.Builder
	s := t.Settings
	fmt.Fprintf(&b, "chaos tally: %d messages, %d sidecars, %d × kill -9, %d × SIGTERM restart, %d × PostgreSQL restart, %.0f%% provider faults, %s of faults, %s in all\n",
		s.Messages, s.Sidecars, t.Kills, t.Deploys, t.Restarts, s.FaultRate*100, s.Duration, t.Elapsed.Round(time.Second))
	// Numbers align right; labels are padded to one width so they read left-aligned.
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	const labelWidth = 38
	header := fmt.Sprintf("%-*s\t", labelWidth, "")
	for _, c := range t.Columns {
		header += c.Name + "\t"
	}
	fmt.Fprintln(tw, header+"total\t")
	row := func(label string, get func(Column) int) {
		line, total := fmt.Sprintf("%-*s\t", labelWidth, label), 0
		for _, c := range t.Columns {
			line += fmt.Sprintf("%d\t", get(c))
			total += get(c)
		}
		fmt.Fprintf(tw, "%s%d\t\n", line, total)
	}
	row("dispatched", func(c Column) int { return c.Dispatched })
	row("succeeded", func(c Column) int { return c.Succeeded })
	row("dead (with reason)", func(c Column) int { return c.Dead })
	row("cancelled", func(c Column) int { return c.Cancelled })
	row("not final (must be 0)", func(c Column) int { return c.NotFinal })
	row("lost (must be 0)", func(c Column) int { return c.Lost })
	row("provider requests", func(c Column) int { return c.Requests })
	for i, name := range FaultNames {
		row("  fault: "+name, func(c Column) int {
			if i < len(c.Faults) {
				return c.Faults[i]
			}
			return 0
		})
	}
	row("accepted by provider", func(c Column) int { return c.Accepted })
	row("duplicates at provider", func(c Column) int { return c.Duplicates })
	row("  unflagged (must be 0)", func(c Column) int { return c.Unflagged })
	row("succeeded, never accepted (must be 0)", func(c Column) int { return c.PhantomSuccess })
	row("attempts", func(c Column) int { return c.Attempts })
	row("  lease expired (rescued)", func(c Column) int { return c.LeaseExpired })
	row("  interrupted by shutdown", func(c Column) int { return c.Interrupted })
	row("  maybe_sent", func(c Column) int { return c.MaybeSent })
	row("marked possible_duplicate", func(c Column) int { return c.PossibleDuplicate })
	_ = tw.Flush()
	return b.String()
}
