package trm_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trm-go/trm/trm/infer"

	"github.com/trm-go/trm/internal/trmtest"
)

// swapFixtures writes into dir the two checkpoints of
// trmtest.SwapCheckpoints and checks that their models answer swapInputs
// differently.
func swapFixtures(t *testing.T, dir string) (a, b string) {
	t.Helper()
	a, b = trmtest.SwapCheckpoints(t, dir)

	pa, err := infer.LoadPredictor(a)
	require.NoError(t, err)
	pb, err := infer.LoadPredictor(b)
	require.NoError(t, err)
	ra, err := pa.Predict(swapInputs...)
	require.NoError(t, err)
	rb, err := pb.Predict(swapInputs...)
	require.NoError(t, err)
	require.NotEqual(t, answers(ra), answers(rb), "the models must answer differently for the test to mean anything")
	return a, b
}

// swapInputs are the questions asked of the models of swapFixtures.
var swapInputs = []string{"777 + 0", "48213 + 99999", "12 + 345", "99999 + 1", "5 + 5", "31415 + 27182"}

func answers(ps []infer.Prediction) []string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.Answer
	}
	return s
}

// copyOver writes the content of src over dst in place, as cp does: the
// same file (inode), truncated, then written.
func copyOver(t *testing.T, src, dst string) {
	t.Helper()
	data, err := os.ReadFile(src)
	require.NoError(t, err)
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_TRUNC, 0)
	require.NoError(t, err)
	_, err = f.Write(data)
	require.NoError(t, err)
	require.NoError(t, f.Close())
}

// TestLoadedCheckpointOutlivesItsFile: a model loaded from a checkpoint
// file keeps its answers when another model is copied over the file (cp)
// and when the file is then truncated to 0 bytes; nothing crashes. The
// model runs in a child process (this test binary again), so that a
// SIGBUS, what a memory-mapped model gets from a truncated file, fails the
// test instead of killing the test binary.
func TestLoadedCheckpointOutlivesItsFile(t *testing.T) {
	const env = "TRM_TEST_SWAP_DIR"
	if dir := os.Getenv(env); dir != "" {
		swapChild(t, dir)
		return
	}
	if testing.Short() {
		t.Skip("re-executes the test binary (under qemu it would need binfmt); the full run does")
	}
	dir := t.TempDir()
	swapFixtures(t, dir)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestLoadedCheckpointOutlivesItsFile$", "-test.v")
	cmd.Env = append(os.Environ(), env+"="+dir)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "the child that loaded the model failed (a SIGBUS shows as \"fatal error: fault\"):\n%s", out)
	require.Contains(t, string(out), "--- PASS: TestLoadedCheckpointOutlivesItsFile")
}

// swapChild is the child of TestLoadedCheckpointOutlivesItsFile.
func swapChild(t *testing.T, dir string) {
	a, b := filepath.Join(dir, "a.safetensors"), filepath.Join(dir, "b.safetensors")
	p, err := infer.LoadPredictor(a)
	require.NoError(t, err)
	want, err := p.Predict(swapInputs...)
	require.NoError(t, err)
	t.Logf("answers: %q", answers(want))

	same := func(got []infer.Prediction, when string) {
		if assert.Equal(t, answers(want), answers(got), "answers %s", when) {
			assert.Equal(t, want, got, "predictions %s", when)
		}
	}
	copyOver(t, b, a)
	got, err := p.Predict(swapInputs...)
	require.NoError(t, err)
	same(got, "after another model was copied over the file")

	require.NoError(t, os.Truncate(a, 0))
	got, err = p.Predict(swapInputs...)
	require.NoError(t, err)
	same(got, "after the file was truncated")
}
