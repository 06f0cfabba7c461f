package aisle

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// The quickstart example is its own module (examples/go, with a replace
// directive pointing here); make sure it still compiles against this API.
func TestQuickstartExampleCompiles(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	dir := filepath.Join("..", "..", "examples", "go")
	if _, err := os.Stat(filepath.Join(dir, "go.mod")); err != nil {
		t.Skip("examples/go not present")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go tool not on PATH")
	}
	cmd := exec.Command(gobin, "build", "-o", os.DevNull, "./quickstart")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build examples/go/quickstart: %v\n%s", err, out)
	}
}
