package train_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trm-go/trm/internal/trmtest"
	"github.com/trm-go/trm/nn"
	"github.com/trm-go/trm/trm/train"
)

// TestRunLock: a held run folder refuses a second Lock, from this process
// too, with an error naming the folder, the holder and the lock file;
// once unlocked it can be locked again. Lock makes the folder.
func TestRunLock(t *testing.T) {
	run := train.Run{Dir: filepath.Join(t.TempDir(), "runs", "a")}
	l, err := run.Lock()
	require.NoError(t, err)
	assert.DirExists(t, run.Dir)
	_, err = run.Lock()
	require.ErrorIs(t, err, train.ErrLocked)
	assert.Equal(t, "train: run folder "+run.Dir+" is in use by another trainer (process "+strconv.Itoa(os.Getpid())+
		", this one holds "+run.LockPath()+"): wait for it to end or stop it, or use another folder", err.Error())
	require.NoError(t, l.Unlock())
	l, err = run.Lock()
	require.NoError(t, err)
	require.NoError(t, l.Unlock())
	assert.False(t, run.Exists(), "the lock file is not a run")
}

// folderFiles returns the content of the run's files, by path ("" for a
// missing file).
func folderFiles(t *testing.T, run train.Run) map[string]string {
	t.Helper()
	files := map[string]string{}
	for _, p := range []string{run.ConfigPath(), run.StatePath(), run.ModelPath(), run.MetricsPath()} {
		b, err := os.ReadFile(p)
		if err != nil && !os.IsNotExist(err) {
			require.NoError(t, err)
		}
		files[p] = string(b)
	}
	return files
}

// TestTrainRefusedWhileAnotherTrains: while one Train runs in a folder, a
// second one, resumed or forced (or neither), is refused at once and
// changes nothing in the folder; the first ends normally with each step
// logged once; then the run resumes.
func TestTrainRefusedWhileAnotherTrains(t *testing.T) {
	cfg := trmtest.TinyConfig(t, nn.VariantMLP)
	cfg.TrainSteps, cfg.LogInterval, cfg.CheckpointInterval = 6, 1, 1
	run := train.Run{Dir: filepath.Join(t.TempDir(), "run")}

	paused, resume := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		_, err := train.Train(context.Background(), cfg, train.TrainOptions{Dir: run.Dir, Log: func(s train.TrainStats) {
			if s.Step == 3 { // saved at steps 1..3
				close(paused)
				<-resume
			}
		}})
		done <- err
	}()
	select {
	case <-paused:
	case err := <-done:
		t.Fatalf("the first trainer ended before step 3: %v", err)
	}
	before := folderFiles(t, run)
	require.NotEmpty(t, before[run.StatePath()])

	forced := cfg
	forced.Seed = 7
	for _, c := range []struct {
		name string
		opts train.TrainOptions
	}{
		{"resume", train.TrainOptions{Dir: run.Dir, Resume: true}},
		{"force", train.TrainOptions{Dir: run.Dir, Force: true}},
		{"plain", train.TrainOptions{Dir: run.Dir}},
	} {
		c2 := cfg
		if c.opts.Force {
			c2 = forced
		}
		res, err := train.Train(context.Background(), c2, c.opts)
		require.ErrorIs(t, err, train.ErrLocked, c.name)
		assert.Nil(t, res, c.name)
		assert.Contains(t, err.Error(), run.Dir+" is in use by another trainer (process "+strconv.Itoa(os.Getpid()), c.name)
		after := folderFiles(t, run)
		for path := range before {
			assert.True(t, before[path] == after[path], "%s: %s changed", c.name, path)
		}
	}

	close(resume)
	require.NoError(t, <-done)
	logged, err := train.ReadMetrics(run.MetricsPath())
	require.NoError(t, err)
	require.Len(t, logged, 6)
	for i, m := range logged {
		assert.Equal(t, int64(i+1), m.Step, "each step logged once, in order")
	}

	cfg.TrainSteps = 8
	res, err := train.Train(context.Background(), cfg, train.TrainOptions{Dir: run.Dir, Resume: true})
	require.NoError(t, err, "the folder is free once the first trainer is done")
	assert.Equal(t, int64(8), res.Trainer.StepCount())
}
