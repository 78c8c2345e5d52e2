package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// row is one line of the results table: a measured figure, what it is
// compared with, and the target it is held to.
type row struct {
	section, what string
	name          string                      // figure name
	target        string                      // as printed
	met           func(v float64, f fig) bool // nil: no target
}

type fig map[string]figure

func (f fig) has(n string) bool { _, ok := f[n]; return ok }

func (f fig) ratio(a, b string) (float64, bool) {
	x, okx := f[a]
	y, oky := f[b]
	if !okx || !oky || y.Value == 0 {
		return 0, false
	}
	return x.Value / y.Value, true
}

// bestGraphile is graphile-worker's better figure of the run (after ANALYZE,
// usually): the target is to match its best, not its worst.
func (f fig) bestGraphile() float64 {
	return max(f["graphile_as_loaded"].Value, f["graphile_analyzed"].Value)
}

var rows = []row{
	{"1. End to end", "Symphony, log provider, tuned (claims of 500, prefetch 500)", "symphony_log", "", nil},
	{"", "Symphony, log provider, default settings (no SYMPHONY_* tuning)", "symphony_log_defaults", "≥ 0.9× tuned", func(v float64, f fig) bool {
		r, ok := f.ratio("symphony_log_defaults", "symphony_log")
		return ok && r >= 0.9
	}},
	{"", "default settings against River tuned", "symphony_log_defaults", "≥ 1.5× River", func(v float64, f fig) bool {
		r, ok := f.ratio("symphony_log_defaults", "river_tuned")
		return ok && r >= 1.5
	}},
	{"", "default settings against graphile-worker's best", "symphony_log_defaults", "≥ 1.2× graphile", func(v float64, f fig) bool {
		return v >= 1.2*f.bestGraphile()
	}},
	{"", "CPU per message: PostgreSQL / sidecar (tuned run)", "symphony_log_pg_cpu", "", nil},
	{"2. Peers (same work, same run)", "River, default fetch settings", "river_default_w100", "", nil},
	{"", "River, tuned (fetch cooldown 2 ms, poll 20 ms)", "river_tuned", "Symphony ≥ 1.5×", func(v float64, f fig) bool {
		r, ok := f.ratio("symphony_log", "river_tuned")
		return ok && r >= 1.5
	}},
	{"", "graphile-worker, jobs table as loaded", "graphile_as_loaded", "", nil},
	{"", "graphile-worker, jobs table ANALYZEd", "graphile_analyzed", "Symphony ≥ graphile's best", func(v float64, f fig) bool {
		return f["symphony_log"].Value >= f.bestGraphile()
	}},
	{"", "bare pgx loop, claim 100 per statement", "bare_batch100", "", nil},
	{"", "bare pgx loop, claim 1 per statement", "bare_batch1", "", nil},
	{"3. HTTP provider", "Symphony, Resend provider → loopback fake", "symphony_resend", "≥ 10,000 msgs/s", func(v float64, _ fig) bool { return v >= 10000 }},
	{"", "provider answering in 20 ms: hand-tuned (email=200, claims of 500, prefetch 500)", "symphony_http20_tuned", "", nil},
	{"", "provider answering in 20 ms: default settings", "symphony_http20_defaults", "≥ 0.8× tuned", ratioAtLeast("symphony_http20_defaults", "symphony_http20_tuned", 0.8)},
	{"", "provider answering in 80 ms: hand-tuned (email=400, claims of 500, prefetch 500)", "symphony_http80_tuned", "", nil},
	{"", "provider answering in 80 ms: default settings", "symphony_http80_defaults", "≥ 0.8× tuned", ratioAtLeast("symphony_http80_defaults", "symphony_http80_tuned", 0.8)},
	{"", "provider answering in 300 ms: hand-tuned (email=1000, claims of 500, prefetch 500)", "symphony_http300_tuned", "", nil},
	{"", "provider answering in 300 ms: default settings", "symphony_http300_defaults", "≥ 0.8× tuned", ratioAtLeast("symphony_http300_defaults", "symphony_http300_tuned", 0.8)},
	{"3e. Provider rate limit (100 requests/s, two sidecars, defaults)", "Resend (ratelimit-* headers): limit used", "pacing_resend_used", "≥ 90 %", atLeast(90)},
	{"", "Resend: requests refused", "pacing_resend_refused", "≤ 1 %", atMost(1)},
	{"", "SendGrid (X-RateLimit-* headers): limit used", "pacing_sendgrid_used", "≥ 90 %", atLeast(90)},
	{"", "SendGrid: requests refused", "pacing_sendgrid_refused", "≤ 1 %", atMost(1)},
	{"", "Postmark (429 only): limit used", "pacing_postmark_used", "≥ 90 %", atLeast(90)},
	{"", "Postmark: requests refused", "pacing_postmark_refused", "≤ 1 %", atMost(1)},
	{"", "Twilio (20429 over 10 requests in flight at 100 ms, Twilio-Concurrent-Requests): limit used", "pacing_twilio_used", "≥ 90 %", atLeast(90)},
	{"", "Twilio: requests refused", "pacing_twilio_refused", "≤ 1 %", atMost(1)},
	{"", "Resend shared with another client of the account sending 40/s (an application's own sender, during a migration): share of the 60/s it leaves used", "pacing_resend_shared_used", "", nil},
	{"", "shared: the sidecars' requests refused", "pacing_resend_shared_refused", "", nil},
	{"", "shared: the other client's requests refused", "pacing_resend_shared_others_refused", "", nil},
	{"3f. Batch endpoints (Resend fake allowing 20 requests/s, one sidecar, defaults)", "1,000 emails one per request", "batch_resend_single_rate", "", nil},
	{"", "10,000 bulk emails inserted at once, batched", "batch_resend_backlog_rate", "", nil},
	{"", "bulk: messages per second over single sends'", "batch_resend_backlog_speedup", "≥ 50×", atLeast(50)},
	{"", "bulk: emails per request", "batch_resend_backlog_per_request", "≥ 90", atLeast(90)},
	{"", "a 10,000-recipient campaign, batched", "batch_resend_campaign_rate", "", nil},
	{"", "campaign: messages per second over single sends'", "batch_resend_campaign_speedup", "≥ 50×", atLeast(50)},
	{"", "campaign: emails per request", "batch_resend_campaign_per_request", "≥ 90", atLeast(90)},
	{"", "transactional email during the campaign: commit → accepted request, p95", "batch_resend_transactional_p95", "≤ 100 ms", atMost(100)},
	{"", "the campaign with two SIGKILLs of its sidecar: second copies sent", "batch_resend_kill9_duplicates", "0", atMost(0)},
	{"", "the campaign with two SIGKILLs: messages per second", "batch_resend_kill9_rate", "", nil},
	{"4. Wake latency (commit → provider request)", "idle, p50", "wake_idle_p50", "≤ 2 ms", atMost(2)},
	{"", "idle, p99", "wake_idle_p99", "≤ 10 ms", atMost(10)},
	{"", "under load, p50", "wake_load_p50", "", nil},
	{"", "under load, p99", "wake_load_p99", "≤ 20 ms", atMost(20)},
	{"", "WAL feed, NOTIFY off: idle, p50", "wal_wake_idle_p50", "", nil},
	{"", "WAL feed, NOTIFY off: idle, p99", "wal_wake_idle_p99", "", nil},
	{"", "WAL feed, NOTIFY off: under load, p50", "wal_wake_load_p50", "", nil},
	{"", "WAL feed, NOTIFY off: under load, p99", "wal_wake_load_p99", "", nil},
	{"", "provider stating its limit (learned; every claim takes tokens): idle, p50", "limited_wake_idle_p50", "", nil},
	{"", "provider stating its limit: idle, p99", "limited_wake_idle_p99", "", nil},
	{"", "provider stating its limit: under load, p50", "limited_wake_load_p50", "", nil},
	{"", "provider stating its limit: under load, p99", "limited_wake_load_p99", "", nil},
	{"5. Dispatch", "single-row, 8 clients, NOTIFY trigger on", "dispatch_single_notify", "", nil},
	{"", "single-row, 8 clients, NOTIFY trigger off", "dispatch_single_nonotify", "", nil},
	{"", "NOTIFY overhead on single-row dispatch (no sidecar sleeping on the queue: busy sidecars poll)", "notify_overhead", "≤ 10 %", func(v float64, _ fig) bool { return v <= 10 }},
	{"", "single-row, 8 clients, an idle sidecar listening (every dispatch notifies)", "dispatch_single_listened", "", nil},
	{"", "overhead when every dispatch notifies (worst case)", "notify_overhead_listened", "", nil},
	{"", "single-row, 8 clients, NOTIFY off by setting (WAL wake-ups)", "dispatch_single_walmode", "", nil},
	{"", "overhead with the NOTIFY off by setting", "notify_overhead_walmode", "≤ 10 %", func(v float64, _ fig) bool { return v <= 10 }},
	{"", "noise floor: the trigger-off setting measured twice, the gap between the two", "dispatch_aa_spread", "", nil},
	{"", "bulk, INSERT … SELECT 10,000 rows per statement", "dispatch_bulk", "", nil},
	{"6. Claim cost vs history", "claim of 100, 0 finished in history", "claim_ms_0", "", nil},
	{"", "claim of 100, 1M finished in history", "claim_ms_1M", "flat", flat("claim_ms_1M")},
	{"", "claim of 100, 10M finished in history", "claim_ms_10M", "flat", flat("claim_ms_10M")},
	{"", "pages one claim touches, 0 / 1M / 10M", "claim_buffers_0", "", nil},
	{"", "claim + complete loop, 0 finished", "claim_loop_0", "", nil},
	{"", "claim + complete loop, 10M finished", "claim_loop_10M", "", nil},
	{"", "claim of one message right after 100,000 went through the queue (their index entries still at the head)", "claim1_dead_ms", "", nil},
	{"", "the same once VACUUM has removed them (the table's settings: within a minute of 20,000 dead versions)", "claim1_vacuumed_ms", "", nil},
	{"7. Memory", "sidecar peak RSS (VmHWM), log provider run", "symphony_log_rss", "≤ 50 MiB", func(v float64, _ fig) bool { return v <= 50 }},
	{"", "sidecar peak RSS (VmHWM), HTTP provider run", "symphony_resend_rss", "≤ 50 MiB", func(v float64, _ fig) bool { return v <= 50 }},
	{"", "emails with a large Storage attachment each (full run: 64 of 10 MiB), default settings, in a 256 MiB memory cgroup: sent", "symphony_attachments_memory_sent", "all", allSent("symphony_attachments_memory_sent")},
	{"", "the same: the cgroup's peak memory", "symphony_attachments_memory_cgroup_peak", "< 256 MiB", func(v float64, _ fig) bool { return v < 256 }},
	{"", "the same: processes the kernel killed for memory", "symphony_attachments_memory_oom_kills", "0", atMost(0)},
	{"", "the same with the attachment memory budget off (as before it existed): sent", "symphony_attachments_unbudgeted_sent", "", nil},
	{"", "budget off: the cgroup's peak memory", "symphony_attachments_unbudgeted_cgroup_peak", "", nil},
	{"", "budget off: processes the kernel killed for memory", "symphony_attachments_unbudgeted_oom_kills", "", nil},
	{"8. Dashboard pages over a long history (its size: the notes below)", "overview (queues, failures, sidecars, flags)", "dashboard_ms_overview", "≤ 200 ms", page},
	{"", "activity, last hour", "dashboard_ms_activity_1h", "≤ 200 ms", page},
	{"", "activity, last day", "dashboard_ms_activity_1d", "≤ 200 ms", page},
	{"", "migration, last hour", "dashboard_ms_migration_1h", "≤ 200 ms", page},
	{"", "migration, last day", "dashboard_ms_migration_1d", "≤ 200 ms", page},
	{"", "campaigns and drips (a running campaign of 100,000)", "dashboard_ms_campaigns", "≤ 200 ms", page},
	{"", "delivery health, 14 days", "dashboard_ms_delivery", "≤ 200 ms", page},
	{"", "overview with 100,000 messages pending", "dashboard_ms_overview_backlog", "≤ 200 ms", page},
	{"", "overview once that backlog is sent, before the next ANALYZE", "dashboard_ms_overview_drained", "≤ 200 ms", page},
	{"", "noise floor: one `select 1` round trip just before the pages", "dashboard_select1_ms", "", nil},
	{"", "symphony.roll_up() of one minute of 50,000 finished messages", "rollup_minute_ms", "", nil},
	{"", "first symphony.roll_up() over the whole 10M history (once)", "rollup_catchup_s_10M", "", nil},
}

// allSent: the figure (its unit "of N sent") counts all N.
func allSent(name string) func(float64, fig) bool {
	return func(v float64, f fig) bool {
		var n float64
		_, err := fmt.Sscanf(f[name].Unit, "of %g sent", &n)
		return err == nil && n > 0 && v == n
	}
}

// page: a dashboard page within 200 ms.
func page(v float64, _ fig) bool { return v <= 200 }

func atLeast(x float64) func(float64, fig) bool { return func(v float64, _ fig) bool { return v >= x } }
func atMost(x float64) func(float64, fig) bool  { return func(v float64, _ fig) bool { return v <= x } }

// ratioAtLeast: figure a is at least x times figure b of the same run.
func ratioAtLeast(a, b string, x float64) func(float64, fig) bool {
	return func(_ float64, f fig) bool {
		r, ok := f.ratio(a, b)
		return ok && r >= x
	}
}

// flat: within 1.5× of the empty-history claim (or 1 ms, for noise on tiny times).
func flat(name string) func(float64, fig) bool {
	return func(v float64, f fig) bool {
		base, ok := f["claim_ms_0"]
		return ok && v <= max(1.5*base.Value, base.Value+1)
	}
}

func runReport(ctx context.Context, fs *flag.FlagSet, args []string) error {
	in := fs.String("in", "", "the collected JSON lines")
	out := fs.String("out", "docs/benchmarks.md", "the Markdown file to write")
	db := fs.String("db", "", "the benchmark database, for its settings")
	commands := fs.String("commands", "", "a file with the commands the run used")
	smoke := fs.Bool("smoke", false, "the figures come from a smoke run (tiny sizes)")
	notes := fs.String("notes", "bench/NOTES.md", "hand-written analysis appended after the table")
	loads := fs.String("loads", "", "a file with the machine's 1-minute load average before each benchmark, one a line")
	_ = fs.Parse(args)
	f, err := readFigures(*in)
	if err != nil {
		return err
	}
	// Symphony's tuned figure is the best of its three runs and its HTTP
	// figure the best of three, taken apart in time (the peers get several
	// tries too).
	for _, base := range []string{"symphony_log", "symphony_log_defaults", "symphony_resend"} {
		runs := 1
		for _, again := range []string{base + "_again", base + "_again2"} {
			v, ok := f[again]
			if !ok {
				continue
			}
			runs++
			if v.Value <= f[base].Value {
				continue
			}
			for _, k := range []string{"", "_pg_cpu", "_sidecar_cpu", "_rss"} {
				if v, ok := f[again+k]; ok {
					v.Name = base + k
					f[base+k] = v
				}
			}
		}
		if runs > 1 {
			for _, k := range []string{"", "_pg_cpu", "_sidecar_cpu", "_rss"} {
				if v, ok := f[base+k]; ok {
					if k == "" {
						v.Note += fmt.Sprintf(" (the best of %d runs)", runs)
					} else {
						v.Note += fmt.Sprintf(" (in the fastest of %d runs)", runs)
					}
					f[base+k] = v
				}
			}
		}
	}
	// River's tuned figure is its best tuned run of this one.
	for n, v := range f {
		if strings.HasPrefix(n, "river_tuned_") && v.Value > f["river_tuned"].Value {
			v.Name = "river_tuned"
			f["river_tuned"] = v
		}
	}
	table := renderTable(f)
	fmt.Print(table)

	var b strings.Builder
	b.WriteString("# Benchmarks\n\n")
	b.WriteString("Produced by `scripts/bench.sh`")
	if *smoke {
		b.WriteString(" **--smoke** (tiny sizes: these figures only show that the benchmark runs)")
	}
	b.WriteString(". Everything below was measured in one run, on one private PostgreSQL cluster, one benchmark after another.\n\n")
	header, err := machineHeader(*loads)
	if err != nil {
		return err
	}
	b.WriteString(header)
	b.WriteString(table)
	b.WriteString("\n## Notes on each figure\n\n")
	noted := map[string]bool{} // a figure held to several targets is described once
	for _, r := range rows {
		if v, ok := f[r.name]; ok && v.Note != "" && !noted[r.name] {
			noted[r.name] = true
			fmt.Fprintf(&b, "- `%s`: %s\n", r.name, v.Note)
		}
	}
	if *notes != "" {
		if n, err := os.ReadFile(*notes); err == nil {
			b.WriteString("\n")
			b.Write(n)
		}
	}
	b.WriteString("\n## Machine and settings\n\n")
	ran := time.Now()
	if st, err := os.Stat(*in); err == nil {
		ran = st.ModTime() // the last figure's time, not the report's
	}
	b.WriteString(machine(ctx, *db, ran))
	if *commands != "" {
		if c, err := os.ReadFile(*commands); err == nil {
			b.WriteString("\n## Commands\n\n`scripts/bench.sh` builds the sidecar and the benchmark programs, creates the databases on the bench cluster (`scripts/db.sh start bench`), applies the migrations with `psql`, then runs:\n\n```\n" + string(c) + "```\n")
		}
	}
	if *out == "" {
		return nil
	}
	return os.WriteFile(*out, []byte(b.String()), 0o644)
}

func readFigures(path string) (fig, error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer file.Close()
	f := fig{}
	sc := bufio.NewScanner(file)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var x figure
		if err := json.Unmarshal([]byte(line), &x); err == nil && x.Name != "" {
			f[x.Name] = x
		}
	}
	return f, sc.Err()
}

func renderTable(f fig) string {
	var b strings.Builder
	b.WriteString("| | measure | figure | Symphony ÷ this | target | met |\n|---|---|---|---|---|---|\n")
	for _, r := range rows {
		v, ok := f[r.name]
		value := "not measured"
		if ok {
			value = format(v)
		}
		if r.name == "symphony_log_pg_cpu" {
			value = num(f["symphony_log_pg_cpu"]) + " / " + num(f["symphony_log_sidecar_cpu"]) + " µs"
		}
		if r.name == "claim_buffers_0" {
			value = strings.Join([]string{num(f["claim_buffers_0"]), num(f["claim_buffers_1M"]), num(f["claim_buffers_10M"])}, " / ") + " pages"
		}
		ratio := ""
		if strings.HasPrefix(r.name, "river") || strings.HasPrefix(r.name, "graphile") || strings.HasPrefix(r.name, "bare") {
			if x, ok := f.ratio("symphony_log", r.name); ok {
				ratio = fmt.Sprintf("%.2f×", x)
			}
		}
		met := ""
		if r.met != nil && ok {
			met = "no"
			if r.met(v.Value, f) {
				met = "yes"
			}
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", r.section, r.what, value, ratio, r.target, met)
	}
	return b.String()
}

func num(v figure) string {
	if v.Name == "" {
		return "–"
	}
	return fmt.Sprintf("%.0f", v.Value)
}

func format(v figure) string {
	switch {
	case v.Unit == "ms":
		return fmt.Sprintf("%.2f ms", v.Value)
	case v.Unit == "%" || v.Unit == "MiB":
		return fmt.Sprintf("%.1f %s", v.Value, v.Unit)
	case v.Unit == "x":
		return fmt.Sprintf("%.1f×", v.Value)
	case v.Unit == "msgs/request":
		return fmt.Sprintf("%.1f %s", v.Value, v.Unit)
	default:
		return fmt.Sprintf("%s %s", thousands(v.Value), v.Unit)
	}
}

func thousands(x float64) string {
	s := fmt.Sprintf("%.0f", x)
	var out []byte
	for i := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}

// machine describes where the run happened: hardware, load, versions and the
// PostgreSQL settings that matter for these figures.
func machine(ctx context.Context, db string, ran time.Time) string {
	var b strings.Builder
	cpu := "unknown"
	if c, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(c), "\n") {
			if strings.HasPrefix(l, "model name") {
				cpu = strings.TrimSpace(l[strings.IndexByte(l, ':')+1:])
				break
			}
		}
	}
	mem := ""
	if c, err := os.ReadFile("/proc/meminfo"); err == nil {
		mem = strings.TrimSpace(strings.TrimPrefix(strings.SplitN(string(c), "\n", 2)[0], "MemTotal:"))
	}
	load, _ := os.ReadFile("/proc/loadavg")
	node, _ := exec.Command("node", "--version").Output()
	commit, _ := exec.Command("git", "rev-parse", "--short", "HEAD").Output()
	fmt.Fprintf(&b, "- Run finished: %s\n", ran.UTC().Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(&b, "- Commit: %s\n", strings.TrimSpace(string(commit)))
	fmt.Fprintf(&b, "- CPU: %d × %s; memory %s\n", runtime.NumCPU(), cpu, mem)
	fmt.Fprintf(&b, "- Load average when the report was written: %s\n", strings.Join(strings.Fields(string(load))[:3], ", "))
	fmt.Fprintf(&b, "- Go %s; Node %s; River v0.51.2; graphile-worker 0.17.3\n", strings.TrimPrefix(runtime.Version(), "go"), strings.TrimSpace(string(node)))
	if db == "" {
		return b.String()
	}
	pool, err := connect(ctx, db)
	if err != nil {
		return b.String()
	}
	defer pool.Close()
	var version string
	_ = pool.QueryRow(ctx, `select version()`).Scan(&version)
	fmt.Fprintf(&b, "- %s, on the same machine, over loopback TCP\n", version)
	rows, err := pool.Query(ctx, `select name, current_setting(name) from pg_settings
		where name in ('fsync', 'synchronous_commit', 'full_page_writes', 'wal_level', 'shared_buffers', 'work_mem',
		               'max_wal_size', 'checkpoint_timeout', 'autovacuum', 'max_connections', 'random_page_cost', 'jit')
		order by name`)
	if err != nil {
		return b.String()
	}
	defer rows.Close()
	var settings []string
	for rows.Next() {
		var n, s string
		if rows.Scan(&n, &s) == nil {
			settings = append(settings, fmt.Sprintf("`%s = %s`", n, s))
		}
	}
	fmt.Fprintf(&b, "- PostgreSQL settings (defaults, as `scripts/db.sh` writes them for the bench cluster): %s\n", strings.Join(settings, ", "))
	return b.String()
}

// machineHeader says how busy the 2-core machine was while the run went: the
// range of the load averages bench.sh read before each benchmark. It does not
// call the machine quiet or shared: the benchmarks' own processes (a sidecar,
// a fake provider, River's 2,000 workers) raise the 1-minute load to 3-4.6 by
// themselves (runs 15 and 16), so the range alone cannot tell.
func machineHeader(path string) (string, error) {
	var lo, hi float64
	n := 0
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return "", fmt.Errorf("error reading the load averages: %w", err)
		}
		for _, line := range strings.Fields(string(b)) {
			v, err := strconv.ParseFloat(line, 64)
			if err != nil {
				return "", fmt.Errorf("%s: %q is not a load average", path, line)
			}
			if n == 0 || v < lo {
				lo = v
			}
			if n == 0 || v > hi {
				hi = v
			}
			n++
		}
	}
	head := "**Read the figures with care:** the machine has 2 cores and its speed moves by ±10 % within minutes (±30 % from run to run is usual). "
	const tail = "The peers ran in the same run, so ratios are fairer than absolute numbers. Re-run with `scripts/bench.sh`.\n\n"
	if n == 0 {
		return head + "How busy it was is not recorded for this run. " + tail, nil
	}
	return head + fmt.Sprintf("Its load average (1 minute, read before each benchmark) was %.1f–%.1f; the benchmarks' own processes (a sidecar, a fake provider, River's 2,000 workers) account for 3 or more of that by themselves. ", lo, hi) + tail, nil
}
