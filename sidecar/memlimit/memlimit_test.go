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
