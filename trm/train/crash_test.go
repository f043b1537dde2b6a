package train_test

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trm-go/trm/internal/trmtest"
	"github.com/trm-go/trm/nn"
	"github.com/trm-go/trm/trm"
	"github.com/trm-go/trm/trm/train"
)

// crashConfig is the run TestKillResume kills: a tiny model that saves
// after every optimizer step, so that kills land in saves as often as in
// steps.
func crashConfig(t testing.TB) trm.Config {
	c := trmtest.TinyConfig(t, nn.VariantMLP)
	c.PuzzleEmbNdim, c.PuzzleEmbLen = 16, 1 // SignSGD state too
	c.PuzzleEmbLR, c.PuzzleEmbWeightDecay = 1e-2, 0.1
	c.BatchSize = 4
	c.TrainSteps, c.LogInterval, c.EvalInterval, c.CheckpointInterval = 100000, 1, 0, 1
	return c
}

// stateDigest hashes what a resume restores: every tensor of the training
// state and of the checkpoint, by name (metadata, which holds wall times,
// left out).
func stateDigest(ck *trm.Checkpoint, st *train.TrainState) string {
	h := sha256.New()
	put := func(kind, name string, b []byte) {
		fmt.Fprintf(h, "%s/%s/%d:", kind, name, len(b))
		h.Write(b)
	}
	for _, name := range slices.Sorted(maps.Keys(st.F32)) {
		put("f32", name, nil)
		for _, v := range st.F32[name] {
			h.Write(binary.LittleEndian.AppendUint32(nil, math.Float32bits(v)))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(st.I64)) {
		put("i64", name, nil)
		for _, v := range st.I64[name] {
			h.Write(binary.LittleEndian.AppendUint64(nil, uint64(v)))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(st.Bytes)) {
		put("bytes", name, st.Bytes[name])
	}
	for _, name := range slices.Sorted(maps.Keys(ck.Tensors)) {
		put("model", name, nil)
		for _, v := range ck.Tensors[name] {
			h.Write(binary.LittleEndian.AppendUint32(nil, math.Float32bits(v)))
		}
	}
	fmt.Fprintf(h, "step %d %d", st.Step, ck.Step)
	return hex.EncodeToString(h.Sum(nil))
}

// TestCrashChild is the training process TestKillResume starts and kills;
// run on its own it does nothing.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv("TRM_CRASH_RUN")
	if dir == "" {
		t.Skip("the child process of TestKillResume")
	}
	cfg := crashConfig(t)
	// Resume once a state was saved; before that (killed between creating
	// the folder and the first save) start over.
	_, err := os.Stat(train.Run{Dir: dir}.StatePath())
	resume := err == nil
	logged := func(s train.TrainStats) { fmt.Printf("step %d\n", s.Step) } // the parent waits for one
	_, err = train.Train(context.Background(), cfg, train.TrainOptions{Dir: dir, Resume: resume, Force: !resume, Log: logged})
	require.NoError(t, err)
}

// TestKillResume kills a training run that saves after every step with
// SIGKILL at random moments (during steps, saves, start-up and resumes),
// hundreds of times, resuming it each time: every kill must leave a folder
// that resumes, at a step whose weights, optimizer state, carry and model
// equal those of an uninterrupted run at that step, with no temporary
// file left and metrics.jsonl holding each step once, in order.
func TestKillResume(t *testing.T) {
	if testing.Short() {
		t.Skip("kills 200 child processes (under qemu they would need binfmt); the full run does")
	}
	const kills = 200
	exe, err := os.Executable()
	require.NoError(t, err)
	cfg := crashConfig(t)
	dir := filepath.Join(t.TempDir(), "run")
	run := train.Run{Dir: dir}

	// The uninterrupted run, extended as far as the killed one gets.
	ref, err := train.NewTrainer(cfg, "")
	require.NoError(t, err)
	want := []string{""} // want[s]: the digest at step s
	wantAt := func(step int64) string {
		for int64(len(want)) <= step {
			require.NoError(t, ref.Step())
			want = append(want, stateDigest(ref.Checkpoint(), ref.State()))
		}
		return want[step]
	}

	rng := rand.New(rand.NewPCG(1, 2))
	var last int64
	recovered := 0
	for k := range kills {
		cmd := exec.Command(exe, "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), "TRM_CRASH_RUN="+dir)
		out, err := cmd.StdoutPipe()
		require.NoError(t, err)
		require.NoError(t, cmd.Start())
		// Every other kill lands at a random moment after the start (in
		// start-up and resume as often as not, the more so on a busy
		// machine); the others a random moment after the child's first
		// logged step, so that the run makes progress however slowly
		// processes start.
		if k%2 == 1 {
			first := make(chan struct{})
			go func() {
				b := make([]byte, 1)
				_, _ = out.Read(b)
				close(first)
			}()
			select {
			case <-first:
			case <-time.After(30 * time.Second):
			}
		}
		time.Sleep(time.Duration(rng.IntN(30_000)) * time.Microsecond)
		require.NoError(t, cmd.Process.Kill()) // SIGKILL
		_ = cmd.Wait()                         // killed: an error is expected

		if _, err := os.Stat(run.StatePath()); os.IsNotExist(err) {
			continue // killed before the first save
		}
		tr, err := train.ResumeTrainer(dir, cfg, "")
		require.NoError(t, err, "kill %d: the folder must resume", k)
		if tr.Recovered != "" {
			recovered++
		}
		step := tr.StepCount()
		require.GreaterOrEqual(t, step, last, "kill %d: a save was lost", k)
		last = step
		require.Equal(t, wantAt(step), stateDigest(tr.Checkpoint(), tr.State()), "kill %d: resumed state at step %d", k, step)
		ck, err := trm.LoadCheckpoint(run.ModelPath())
		require.NoError(t, err)
		require.Equal(t, step, ck.Step, "kill %d: the model file is at the state's step", k)
		require.NoError(t, train.TruncateMetrics(run.MetricsPath(), step))
	}
	t.Logf("%d kills: the run got to step %d; %d times the model file was behind and rebuilt", kills, last, recovered)
	require.Greater(t, last, int64(kills/10), "the run makes progress between kills (every other child is killed after its first step)")

	// One more step the ordinary way: it clears the temporary files the
	// kills left, and logs step last+1 after the others.
	cfg.TrainSteps = int(last) + 1
	res, err := train.Train(context.Background(), cfg, train.TrainOptions{Dir: dir, Resume: true})
	require.NoError(t, err)
	last = res.Trainer.StepCount()
	require.Equal(t, wantAt(last), stateDigest(res.Trainer.Checkpoint(), res.Trainer.State()))
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		assert.False(t, strings.Contains(e.Name(), ".tmp"), "temporary file %s left", e.Name())
	}
	logged, err := train.ReadMetrics(run.MetricsPath())
	require.NoError(t, err)
	for i, m := range logged {
		require.Equal(t, int64(i+1), m.Step, "metrics line %d: each step once, in order", i+1)
	}
	require.Equal(t, last, int64(len(logged)))
}

func TestTrainRefusesToOverwrite(t *testing.T) {
	cfg := trmtest.TinyConfig(t, nn.VariantAttn)
	cfg.TrainSteps = 2
	dir := filepath.Join(t.TempDir(), "run")
	_, err := train.Train(context.Background(), cfg, train.TrainOptions{Dir: dir})
	require.NoError(t, err)
	before, err := os.ReadFile(train.Run{Dir: dir}.StatePath())
	require.NoError(t, err)

	_, err = train.Train(context.Background(), cfg, train.TrainOptions{Dir: dir})
	require.ErrorContains(t, err, dir+" already holds a run")
	after, err := os.ReadFile(train.Run{Dir: dir}.StatePath())
	require.NoError(t, err)
	assert.Equal(t, before, after, "the old run is untouched")

	cfg.Seed = 7
	_, err = train.Train(context.Background(), cfg, train.TrainOptions{Dir: dir, Force: true})
	require.NoError(t, err)
	logged, err := train.ReadMetrics(train.Run{Dir: dir}.MetricsPath())
	require.NoError(t, err)
	require.Len(t, logged, 1, "a forced run starts a new metrics file")
}

// TestResumeRebuildsModel: a crash between the two writes of a save leaves
// the model at an older step; the state alone rebuilds it, and the run
// goes on as if nothing happened.
func TestResumeRebuildsModel(t *testing.T) {
	cfg := trmtest.TinyConfig(t, nn.VariantAttn)
	cfg.TrainSteps, cfg.CheckpointInterval = 4, 2
	straight, err := train.Train(context.Background(), cfg, train.TrainOptions{})
	require.NoError(t, err)

	dir := filepath.Join(t.TempDir(), "run")
	run := train.Run{Dir: dir}
	half := cfg
	half.TrainSteps = 2
	_, err = train.Train(context.Background(), half, train.TrainOptions{Dir: dir})
	require.NoError(t, err)
	old, err := os.ReadFile(run.ModelPath())
	require.NoError(t, err)
	half.TrainSteps = 3
	_, err = train.Train(context.Background(), half, train.TrainOptions{Dir: dir, Resume: true})
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(run.ModelPath(), old, 0o644)) // as if the model write of step 3 never happened
	require.NoError(t, os.WriteFile(filepath.Join(dir, ".model.safetensors.tmp123"), []byte("half"), 0o644))

	var out strings.Builder
	res, err := train.Train(context.Background(), cfg, train.TrainOptions{Dir: dir, Resume: true, Out: &out})
	require.NoError(t, err)
	assert.Contains(t, out.String(), "was not at step 3 (a save was interrupted); rewrote it")
	assert.NoFileExists(t, filepath.Join(dir, ".model.safetensors.tmp123"))
	require.Equal(t, straight.Trainer.State(), res.Trainer.State())
	ck, err := trm.LoadCheckpoint(run.ModelPath())
	require.NoError(t, err)
	require.Equal(t, straight.Trainer.Checkpoint().Tensors, ck.Tensors)
	assert.Greater(t, res.Last.Elapsed, time.Duration(0))
}
