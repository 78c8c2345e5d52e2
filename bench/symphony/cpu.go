package main

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// CPU time is the steadier measure on a shared machine: throughput falls when
// other work takes the cores, but the CPU each message costs does not. These
// read it from /proc (Linux only; zero elsewhere).

// clockTick is USER_HZ, 100 on every Linux this runs on.
const clockTick = 100

// processCPU is the user+system CPU time pid has used so far.
func processCPU(pid int) time.Duration {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	_, fields := statFields(string(b))
	if len(fields) < 15 {
		return 0
	}
	u, _ := strconv.ParseInt(fields[11], 10, 64)
	s, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(u+s) * time.Second / clockTick
}

// statFields splits /proc/<pid>/stat after the command name (which may hold
// spaces); fields[0] is the state, fields[1] the parent pid.
func statFields(stat string) (string, []string) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return "", nil
	}
	return stat[:i], strings.Fields(stat[i+1:])
}

// clusterCPU is the CPU time used so far by each process of the PostgreSQL
// server that pool talks to: its postmaster and every process it started
// (backends, the WAL writer, autovacuum…), by pid.
func clusterCPU(ctx context.Context, pool *pgxpool.Pool) map[int]time.Duration {
	out := map[int]time.Duration{}
	var dir string
	if err := pool.QueryRow(ctx, `select setting from pg_settings where name = 'data_directory'`).Scan(&dir); err != nil {
		return out
	}
	b, err := os.ReadFile(filepath.Join(dir, "postmaster.pid"))
	if err != nil {
		return out
	}
	pm, err := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0]))
	if err != nil {
		return out
	}
	out[pm] = processCPU(pm)
	procs, _ := os.ReadDir("/proc")
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + p.Name() + "/stat")
		if err != nil {
			continue
		}
		if _, f := statFields(string(stat)); len(f) > 1 && f[1] == strconv.Itoa(pm) {
			out[pid] = processCPU(pid)
		}
	}
	return out
}

// cpuSince is the CPU the server used between two readings: what each process
// alive at the second used since the first (all of it, for one started in
// between). A process that exited in between is not counted, so this is a
// floor, close when the sidecar's connections live through the run.
func cpuSince(before, after map[int]time.Duration) time.Duration {
	var total time.Duration
	for pid, t := range after {
		total += t - before[pid]
	}
	return total
}
