package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/provider/resend/resendfake"
	"github.com/symphonymessenger/symphony/sidecar/storage/storagefake"
)

// runMemory sends emails each with a large attachment from a fake of
// Supabase Storage through a fake of Resend, with the sidecar at default
// settings in a memory cgroup of the size of the Fly machine, and reports its
// peak memory and whether the kernel killed it.
func runMemory(ctx context.Context, fs *flag.FlagSet, args []string) error {
	db := fs.String("db", "", "database URL with the Symphony schema")
	bin := fs.String("bin", "bin/symphony", "the sidecar binary")
	n := fs.Int("n", 64, "emails to send")
	size := fs.Int("size", 10<<20, "bytes of each email's attachment (kept in Storage)")
	limitMB := fs.Int("limit-mb", 256, "the memory cgroup's limit, MiB")
	name := fs.String("name", "symphony_attachments_memory", "figure name")
	budget := fs.Int64("budget", 0, "SYMPHONY_ATTACHMENT_MEMORY_BYTES for the sidecar; 0: its default. One beyond the machine turns the budget off, as before the sidecar had one")
	_ = fs.Parse(args)

	pool, err := connect(ctx, *db)
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := reset(ctx, pool); err != nil {
		return err
	}
	const key = "bench-service-role-key"
	files := storagefake.New(key)
	defer files.Close()
	files.Put("bench", "attachment.bin", "application/pdf", bytes.Repeat([]byte("%PDF-1.7 bench "), *size/15+1)[:*size])
	mail := resendfake.New(resendfake.Options{})
	defer mail.Close()
	env := map[string]string{
		"SUPABASE_URL": files.URL(), "SUPABASE_SERVICE_ROLE_KEY": key,
		"SYMPHONY_EMAIL_PROVIDER": "resend", "RESEND_API_KEY": resendfake.DefaultAPIKey, "SYMPHONY_RESEND_URL": mail.URL(),
	}
	if *budget > 0 {
		env["SYMPHONY_ATTACHMENT_MEMORY_BYTES"] = strconv.FormatInt(*budget, 10)
	}
	if _, err := pool.Exec(ctx, `insert into symphony.messages (kind, payload)
		select 'email.send', jsonb_build_object('to', 'user' || g || '@example.com', 'from', 'bench@example.com',
		       'subject', 'invoice ' || g, 'text', 'attached',
		       'attachments', jsonb_build_array(jsonb_build_object('filename', 'invoice.pdf',
		                      'storage', jsonb_build_object('bucket', 'bench', 'path', 'attachment.bin'))))
		  from generate_series(1, $1) g`, *n); err != nil {
		return fmt.Errorf("error dispatching: %w", err)
	}

	cg, why := newMemCgroup(int64(*limitMB) << 20)
	if cg == nil {
		fmt.Fprintf(os.Stderr, "memory benchmark: skipped the cgroup part (%s); measuring the sidecar's peak RSS without a limit\n", why)
	} else {
		defer cg.remove()
	}
	procs := ""
	if cg != nil {
		procs = filepath.Join(cg.dir, "cgroup.procs")
	}
	sc, err := startSidecarIn(ctx, *bin, *db, env, procs)
	if err != nil {
		return err
	}
	defer sc.stop()
	began := time.Now()
	if err := setMaster(ctx, pool, true); err != nil {
		return err
	}
	var failure error
	for {
		left, err := unfinished(ctx, pool)
		if err != nil {
			return err
		}
		if !left {
			break
		}
		select {
		case err := <-sc.done:
			sc.done <- err
			failure = fmt.Errorf("the sidecar exited mid-run (%v)", err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if failure != nil {
			break
		}
		if time.Since(began) > 10*time.Minute {
			failure = errors.New("messages still unfinished after 10 minutes")
			break
		}
	}
	took := time.Since(began)
	rss, _ := sc.peakRSS()
	var peak int64
	var ooms int64
	if cg != nil {
		peak, ooms = cg.peak(), cg.oomKills()
	}
	var ok, dead int
	if err := pool.QueryRow(ctx, `select count(*) filter (where state = 'succeeded'), count(*) filter (where state = 'dead')
		from symphony.messages`).Scan(&ok, &dead); err != nil {
		return err
	}
	settings := "default settings"
	if *budget > 0 {
		settings = fmt.Sprintf("default settings but SYMPHONY_ATTACHMENT_MEMORY_BYTES=%d", *budget)
	}
	what := fmt.Sprintf("%d emails each with a %d MiB Storage attachment, Resend fake, %s", *n, *size>>20, settings)
	if cg != nil {
		what += fmt.Sprintf(", in a %d MiB memory cgroup", *limitMB)
		emit(figure{Name: *name + "_cgroup_peak", Value: float64(peak) / (1 << 20), Unit: "MiB",
			Note: "peak memory charged to the sidecar's cgroup (" + cg.peakFile + "); " + what})
		emit(figure{Name: *name + "_oom_kills", Value: float64(ooms), Unit: "killed", Note: what})
	}
	if rss > 0 {
		emit(figure{Name: *name + "_rss", Value: float64(rss) / (1 << 20), Unit: "MiB", Note: "peak RSS (VmHWM); " + what})
	}
	emit(figure{Name: *name + "_sent", Value: float64(ok), Unit: fmt.Sprintf("of %d sent", *n),
		Note: fmt.Sprintf("emails sent (%d dead, the rest unfinished when the run ended); %s", dead, what)})
	emit(figure{Name: *name + "_throughput", Value: float64(ok) / took.Seconds(), Unit: "msgs/s", Note: what})
	// A sidecar killed for memory, or emails not sent, is what this measures,
	// not a failure of the benchmark: the figures above say it, the report
	// holds them to their targets, and the run goes on.
	if failure != nil {
		fmt.Fprintf(os.Stderr, "memory benchmark (%s): %v: %d of %d sent, %d dead, peak %d MiB, %d OOM kills; the sidecar's log:\n%s\n",
			*name, failure, ok, *n, dead, peak>>20, ooms, sc.tail())
	} else if ok != *n {
		fmt.Fprintf(os.Stderr, "memory benchmark (%s): %d of %d emails succeeded (%d dead)\n", *name, ok, *n, dead)
	}
	return nil
}

// memCgroup is a memory cgroup made for one run (v2, or v1's memory controller).
type memCgroup struct {
	dir      string
	v2       bool
	peakFile string
}

// newMemCgroup makes a cgroup limited to limit bytes, or says why it could not.
func newMemCgroup(limit int64) (*memCgroup, string) {
	name := fmt.Sprintf("symphony-bench-%d", os.Getpid())
	lim := strconv.FormatInt(limit, 10)
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		c := &memCgroup{dir: filepath.Join("/sys/fs/cgroup", name), v2: true, peakFile: "memory.peak"}
		if err := os.Mkdir(c.dir, 0o755); err != nil {
			return nil, "cgroup v2: " + err.Error()
		}
		if err := os.WriteFile(filepath.Join(c.dir, "memory.max"), []byte(lim), 0o644); err != nil {
			c.remove()
			return nil, "cgroup v2 memory.max: " + err.Error()
		}
		_ = os.WriteFile(filepath.Join(c.dir, "memory.swap.max"), []byte("0"), 0o644)
		return c, ""
	}
	c := &memCgroup{dir: filepath.Join("/sys/fs/cgroup/memory", name), peakFile: "memory.max_usage_in_bytes"}
	if err := os.Mkdir(c.dir, 0o755); err != nil {
		return nil, "cgroup v1 memory controller: " + err.Error()
	}
	if err := os.WriteFile(filepath.Join(c.dir, "memory.limit_in_bytes"), []byte(lim), 0o644); err != nil {
		c.remove()
		return nil, "cgroup v1 memory.limit_in_bytes: " + err.Error()
	}
	// No swap to hide in, where the kernel accounts it.
	_ = os.WriteFile(filepath.Join(c.dir, "memory.memsw.limit_in_bytes"), []byte(lim), 0o644)
	return c, ""
}

func (c *memCgroup) peak() int64 {
	b, err := os.ReadFile(filepath.Join(c.dir, c.peakFile))
	if err != nil {
		return 0
	}
	n, _ := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	return n
}

// oomKills is how many processes the kernel killed in the cgroup for memory.
func (c *memCgroup) oomKills() int64 {
	file := "memory.oom_control"
	if c.v2 {
		file = "memory.events"
	}
	b, _ := os.ReadFile(filepath.Join(c.dir, file))
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "oom_kill" {
			n, _ := strconv.ParseInt(f[1], 10, 64)
			return n
		}
	}
	return 0
}

// remove deletes the cgroup once its processes are gone.
func (c *memCgroup) remove() {
	for i := 0; i < 50; i++ {
		if err := os.Remove(c.dir); err == nil || os.IsNotExist(err) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}
