package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The report's header gives the range of the load averages bench.sh read,
// whatever their order, and refuses a file it cannot read as load averages.
func TestMachineHeader(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, c := range []struct {
		name, loads, want string
	}{
		{"three", "0.4\n3.3\n1.2\n", "Its load average (1 minute, read before each benchmark) was 0.4–3.3;"},
		{"two", "7.5\n1.1\n", "Its load average (1 minute, read before each benchmark) was 1.1–7.5;"},
		{"unrecorded", "", "How busy it was is not recorded"},
	} {
		got, err := machineHeader(write(c.name, c.loads))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if !strings.Contains(got, c.want) {
			t.Errorf("%s: header %q, want it to say %q", c.name, got, c.want)
		}
	}
	if _, err := machineHeader(write("bad", "1.0\nbusy\n")); err == nil || !strings.Contains(err.Error(), `"busy" is not a load average`) {
		t.Errorf("a file with a word in it: %v", err)
	}
}

func TestRefusedLater(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		by   []int
		want string
	}{
		{nil, ""},
		{[]int{27}, ""},
		{[]int{5, 0, 0, 6, 4}, "; then 6 at 3 s, 4 at 4 s"},
	} {
		if got := refusedLater(c.by); got != c.want {
			t.Errorf("refusedLater(%v) = %q, want %q", c.by, got, c.want)
		}
	}
}
