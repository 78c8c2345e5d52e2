package pgtest

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

// EnvDatabaseURL names the variable holding the test cluster's URL (database postgres, as a
// superuser, because the harness creates and drops databases).
const EnvDatabaseURL = "SYMPHONY_TEST_DATABASE_URL"

// clusterURL is looked up once per test process: starting the cluster is not free.
var clusterURL = sync.OnceValues(scriptCluster(EnvDatabaseURL, "start", "test"))

// scriptCluster returns what finds a cluster of scripts/db.sh: the URL in env when set,
// else the cluster's URL after `scripts/db.sh verb name` (start, or push to also apply
// the migrations).
func scriptCluster(env, verb, name string) func() (string, error) {
	return func() (string, error) {
		if u := os.Getenv(env); u != "" {
			return u, nil
		}
		root, err := repoRoot()
		if err != nil {
			return "", err
		}
		dbsh := filepath.Join(root, "scripts", "db.sh")
		if _, err := runScript(root, dbsh, verb, name); err != nil {
			return "", fmt.Errorf("%s is unset and `scripts/db.sh %s %s` failed: %w", env, verb, name, err)
		}
		out, err := runScript(root, dbsh, "url", name)
		if err != nil {
			return "", err
		}
		return strings.TrimSpace(out), nil
	}
}

func runScript(dir string, args ...string) (string, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.Command("bash", args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("error running %s: %w\n%s", strings.Join(args, " "), err, stderr.Bytes())
	}
	return stdout.String(), nil
}

// repoRoot walks up from the working directory (a package directory under go test) to the
// directory holding go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod found above the working directory; run the tests from inside the repository")
		}
		dir = parent
	}
}

// withDatabase returns connString pointing at database name instead. It accepts both URL and
// keyword/value connection strings.
func withDatabase(connString, name string) (string, error) {
	if strings.HasPrefix(connString, "postgres://") || strings.HasPrefix(connString, "postgresql://") {
		u, err := url.Parse(connString)
		if err != nil {
			return "", fmt.Errorf("error parsing %s: %w", EnvDatabaseURL, err)
		}
		u.Path = "/" + name
		u.RawPath = ""
		return u.String(), nil
	}
	// In keyword/value form a later keyword overrides an earlier one.
	return connString + " dbname=" + name, nil
}
