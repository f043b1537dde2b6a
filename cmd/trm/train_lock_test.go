package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trm-go/trm/trm/train"
)

// TestTrainLocksItsRunFolder: while a trm train process trains in a
// folder, trm train --resume and trm train --force on that folder are
// refused (exit 1, one line naming the folder and the trainer's process
// ID) and change nothing; once that process is killed, --resume goes on
// from its last save.
func TestTrainLocksItsRunFolder(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a trm train process (-short)")
	}
	dir := filepath.Join(t.TempDir(), "run")
	run := train.Run{Dir: dir}
	tiny := []string{"--digits", "1", "--hidden_size", "16", "--num_heads", "1", "--L_layers", "1", "--H_cycles", "1", "--L_cycles", "1",
		"--halt_max_steps", "1", "--batch", "4", "--eval_interval", "0", "--log_interval", "1", "--checkpoint_interval", "1"}
	cmd := exec.Command(os.Args[0], append([]string{"train", "--run", dir, "--steps", "1000000"}, tiny...)...)
	cmd.Env = append(os.Environ(), "TRM_TEST_MAIN=1")
	stderr := &lockedBuffer{}
	cmd.Stderr = stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	require.Eventually(t, func() bool {
		_, err := os.Stat(run.StatePath())
		return err == nil
	}, 60*time.Second, 10*time.Millisecond, "a first save; stderr: %s", stderr.String())
	config, err := os.ReadFile(run.ConfigPath())
	require.NoError(t, err)

	want := "trm train: run folder " + dir + " is in use by another trainer (process " + strconv.Itoa(cmd.Process.Pid) +
		" holds " + run.LockPath() + "): wait for it to end or stop it, or use another folder\n"
	// (--steps bounds what a trainer that is not refused would do.)
	code, out, errOut := trmRun("train", "--run", dir, "--resume", "--steps", "2")
	assert.Equal(t, exitFailure, code)
	assert.Empty(t, out)
	assert.Equal(t, want, errOut)
	code, out, errOut = trmRun(append([]string{"train", "--run", dir, "--force", "--seed", "7", "--steps", "2"}, tiny...)...)
	assert.Equal(t, exitFailure, code)
	assert.Empty(t, out)
	assert.Equal(t, want, errOut)
	after, err := os.ReadFile(run.ConfigPath())
	require.NoError(t, err)
	assert.Equal(t, string(config), string(after), "--force deleted nothing, wrote nothing")

	require.NoError(t, cmd.Process.Kill())
	_ = cmd.Wait()
	st, err := train.LoadTrainState(run.StatePath())
	require.NoError(t, err)
	steps := strconv.FormatInt(st.Step+2, 10)
	code, _, errOut = trmRun("train", "--run", dir, "--resume", "--steps", steps)
	require.Equal(t, exitOK, code, errOut)
	assert.Contains(t, errOut, "done: step "+steps)
}
