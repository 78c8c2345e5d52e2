package memlimit

import (
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
)

// Share is the part of the cgroup's limit given to the Go runtime; the rest
// is for what it does not count (thread stacks outside the heap, the C
// library, the kernel's page cache charged to the cgroup).
const Share = 0.85

// DefaultGOGC is the GC percentage set when GOGC is unset.
const DefaultGOGC = 200

// Cgroup returns the memory limit in bytes of the cgroup that selfCgroup
// (the contents of /proc/self/cgroup) names, read under root (/sys/fs/cgroup):
// the lowest memory.max on the way from the cgroup up to root (cgroup v2),
// or memory.limit_in_bytes (v1). ok is false when there is no limit.
func Cgroup(root, selfCgroup string) (limit int64, ok bool) {
	for _, line := range strings.Split(selfCgroup, "\n") {
		// v2: "0::/path"; v1: "N:memory:/path" (or a list with memory in it).
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		switch {
		case parts[0] == "0" && parts[1] == "":
			for dir := filepath.Clean("/" + parts[2]); ; dir = filepath.Dir(dir) {
				if n, found := readLimit(filepath.Join(root, dir, "memory.max")); found && (!ok || n < limit) {
					limit, ok = n, true
				}
				if dir == "/" {
					break
				}
			}
		case hasController(parts[1], "memory"):
			// v1 limits are hierarchical too: the lowest on the way up counts.
			for dir := filepath.Clean("/" + parts[2]); ; dir = filepath.Dir(dir) {
				if n, found := readLimit(filepath.Join(root, "memory", dir, "memory.limit_in_bytes")); found && (!ok || n < limit) {
					limit, ok = n, true
				}
				if dir == "/" {
					break
				}
			}
		}
	}
	return limit, ok
}

func hasController(list, name string) bool {
	for _, c := range strings.Split(list, ",") {
		if c == name {
			return true
		}
	}
	return false
}

// readLimit reads a limit file: a byte count, or "max" (none). cgroup v1
// says "none" with a number near 2^63.
func readLimit(path string) (int64, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	s := strings.TrimSpace(string(b))
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || n >= math.MaxInt64/2 {
		return 0, false
	}
	return n, true
}

// Settings is what Apply did.
type Settings struct {
	CgroupLimit int64 // bytes, 0: none found
	MemoryLimit int64 // the runtime's soft limit now, 0: none
	FromCgroup  bool  // MemoryLimit was set here from CgroupLimit
	GOGC        int   // the GC percentage now
	SetGOGC     bool  // GOGC was set here
}

// Apply sets the runtime's soft memory limit to Share of the cgroup's
// memory limit unless GOMEMLIMIT is set, and GOGC to DefaultGOGC unless GOGC
// is set. getenv is os.Getenv in production.
func Apply(getenv func(string) string) Settings {
	var s Settings
	self, _ := os.ReadFile("/proc/self/cgroup")
	if limit, ok := Cgroup("/sys/fs/cgroup", string(self)); ok {
		s.CgroupLimit = limit
		if getenv("GOMEMLIMIT") == "" {
			debug.SetMemoryLimit(int64(float64(limit) * Share))
			s.FromCgroup = true
		}
	}
	if l := debug.SetMemoryLimit(-1); l < math.MaxInt64 {
		s.MemoryLimit = l
	}
	if getenv("GOGC") == "" {
		debug.SetGCPercent(DefaultGOGC)
		s.SetGOGC = true
	}
	s.GOGC = debug.SetGCPercent(-1)
	debug.SetGCPercent(s.GOGC)
	return s
}
