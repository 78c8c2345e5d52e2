package memlimit_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/symphonymessenger/symphony/sidecar/memlimit"
)

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestCgroup_V2TakesTheLowestLimitUpTheTree(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	write(t, filepath.Join(root, "memory.max"), "max\n")
	write(t, filepath.Join(root, "fly/memory.max"), "268435456\n")
	write(t, filepath.Join(root, "fly/app/memory.max"), "max\n")
	got, ok := memlimit.Cgroup(root, "0::/fly/app\n")
	if !ok || got != 256<<20 {
		t.Fatalf("Cgroup = %d, %v; want 256 MiB from the parent", got, ok)
	}
}

func TestCgroup_NoLimit(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	write(t, filepath.Join(root, "memory.max"), "max\n")
	if got, ok := memlimit.Cgroup(root, "0::/\n"); ok {
		t.Fatalf("Cgroup = %d, want none", got)
	}
	if got, ok := memlimit.Cgroup(root, ""); ok {
		t.Fatalf("Cgroup of no cgroup = %d, want none", got)
	}
}

func TestCgroup_V1(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	write(t, filepath.Join(root, "memory/docker/abc/memory.limit_in_bytes"), "536870912\n")
	got, ok := memlimit.Cgroup(root, "12:cpu,cpuacct:/docker/abc\n4:memory:/docker/abc\n")
	if !ok || got != 512<<20 {
		t.Fatalf("Cgroup = %d, %v; want 512 MiB", got, ok)
	}
	// v1's "no limit" is a number near 2^63.
	write(t, filepath.Join(root, "memory/docker/abc/memory.limit_in_bytes"), "9223372036854771712\n")
	if got, ok := memlimit.Cgroup(root, "4:memory:/docker/abc\n"); ok {
		t.Fatalf("Cgroup = %d, want none", got)
	}
}

func TestCgroup_V1TakesTheLowestLimitUpTheTree(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	write(t, filepath.Join(root, "memory/memory.limit_in_bytes"), "9223372036854771712\n")
	write(t, filepath.Join(root, "memory/jobs/memory.limit_in_bytes"), "268435456\n")
	write(t, filepath.Join(root, "memory/jobs/one/memory.limit_in_bytes"), "1073741824\n")
	got, ok := memlimit.Cgroup(root, "4:memory:/jobs/one\n0::/\n")
	if !ok || got != 256<<20 {
		t.Fatalf("Cgroup = %d, %v; want 256 MiB from the parent", got, ok)
	}
}

func TestCgroup_NamespacedPathsFallBackToTheMountsOwnFile(t *testing.T) {
	t.Parallel()
	// In a container with a cgroup namespace or a bind mount, the path in
	// /proc/self/cgroup does not exist under the mount; the mount's own
	// file is the container's cgroup.
	root := t.TempDir()
	write(t, filepath.Join(root, "memory.max"), "134217728\n")
	got, ok := memlimit.Cgroup(root, "0::/system.slice/app.service\n")
	if !ok || got != 128<<20 {
		t.Fatalf("v2: Cgroup = %d, %v; want 128 MiB", got, ok)
	}
	root = t.TempDir()
	write(t, filepath.Join(root, "memory/memory.limit_in_bytes"), "134217728\n")
	got, ok = memlimit.Cgroup(root, "7:memory:/docker/0123\n")
	if !ok || got != 128<<20 {
		t.Fatalf("v1: Cgroup = %d, %v; want 128 MiB", got, ok)
	}
}

func TestCgroup_UnreadableValuesAreNoLimit(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	for _, v := range []string{"", "lots\n", "-1\n", "0\n"} {
		write(t, filepath.Join(root, "memory.max"), v)
		if got, ok := memlimit.Cgroup(root, "0::/\n"); ok {
			t.Fatalf("memory.max %q: Cgroup = %d, want none", v, got)
		}
	}
}

func TestApply_LeavesGOMEMLIMITAlone(t *testing.T) {
	// Not parallel: it sets the runtime's limits.
	env := map[string]string{"GOMEMLIMIT": "100MiB", "GOGC": "100"}
	s := memlimit.Apply(func(k string) string { return env[k] })
	if s.FromCgroup || s.SetGOGC {
		t.Fatalf("Apply = %+v; want GOMEMLIMIT and GOGC left to the environment", s)
	}
}
