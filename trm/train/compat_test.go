package train_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trm-go/trm/asm"
	"github.com/trm-go/trm/trm"
	"github.com/trm-go/trm/trm/safetensors"
	"github.com/trm-go/trm/trm/train"
)

// v1Runs are run folders saved at step 15 of 30 by the trm binary of
// commit d1b5702, before the trm package was split (testdata/v1-*; the
// config each was trained from is beside it), with the tensor digests (see
// tensorDigest) of that binary's uninterrupted 30-step run of the same
// config, on its avx2+fma kernels.
var v1Runs = []struct {
	dir, mode            string
	wantModel, wantState string
}{
	{"v1-arith-carry", "carry", // attention, RoPE, AdamW, EMA
		"b0e9f2bb338a264023fcae8f3ba7b29025879191976c767a17be1103ec068aa3",
		"4cd4530c189052c98c968a14215093d288ec1157ef85dc623d8d5d627cc1d6cc"},
	{"v1-sudoku4-explicit", "explicit", // MLP mixer, puzzle embedding (SignSGD), AdamATan2
		"5ddcb60c34adcb9c7cf9c85a0f6d1ab712f5f12dd12f0769e7497b01a5c9a0df",
		"777203a7cbe3b31045ee47f80b0f20bed87e2e0b8d9a92aece3f7cf995e27601"},
}

// tensorDigest is the SHA-256 of a safetensors file's tensors, by name in
// sorted order (name, a zero byte, the raw data): the metadata (the config
// JSON, whose field order may change) is left out, and so are the tensors
// whose names start with skip (what later versions added).
func tensorDigest(t *testing.T, path string, skip ...string) string {
	t.Helper()
	f, err := safetensors.Read(path)
	require.NoError(t, err)
	names := f.Names()
	slices.Sort(names)
	h := sha256.New()
	for _, n := range names {
		if slices.ContainsFunc(skip, func(p string) bool { return strings.HasPrefix(n, p) }) {
			continue
		}
		h.Write([]byte(n))
		h.Write([]byte{0})
		h.Write(f.Tensors[n].Data)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// copyDir copies the files of src into a new temporary folder.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), filepath.Base(src))
	require.NoError(t, os.CopyFS(dst, os.DirFS(src)))
	return dst
}

// TestResumeV1Run resumes the run folders the old binary saved: the format
// still loads, and on the kernels that trained them the resumed run ends
// with exactly the tensors of the old binary's uninterrupted run. On every
// platform, resuming in one go and in two legs gives the same tensors.
func TestResumeV1Run(t *testing.T) {
	for _, r := range v1Runs {
		t.Run(r.dir, func(t *testing.T) {
			src := filepath.Join("testdata", r.dir)
			cfg, err := trm.LoadConfig(filepath.Join(src, "config.json"), trm.Config{})
			require.NoError(t, err)
			require.Equal(t, 15, cfg.TrainSteps)
			cfg.TrainSteps = 30
			mode := train.TrainMode(r.mode)

			oneGo := copyDir(t, src)
			res, err := train.Train(context.Background(), cfg, train.TrainOptions{Dir: oneGo, Resume: true})
			require.NoError(t, err)
			require.Equal(t, int64(30), res.Trainer.StepCount())
			require.Equal(t, mode, res.Trainer.Mode, "the saved mode is kept")

			twoLegs := copyDir(t, src)
			leg := cfg
			leg.TrainSteps = 22
			_, err = train.Train(context.Background(), leg, train.TrainOptions{Dir: twoLegs, Resume: true})
			require.NoError(t, err)
			_, err = train.Train(context.Background(), cfg, train.TrainOptions{Dir: twoLegs, Resume: true})
			require.NoError(t, err)

			run1, run2 := train.Run{Dir: oneGo}, train.Run{Dir: twoLegs}
			// The state of today's trainer also keeps y_init and z_init
			// ("f32/fixed/…"), which the old one read from the model file.
			gotModel, gotState := tensorDigest(t, run1.ModelPath()), tensorDigest(t, run1.StatePath(), "f32/fixed/")
			assert.Equal(t, gotModel, tensorDigest(t, run2.ModelPath()))
			assert.Equal(t, gotState, tensorDigest(t, run2.StatePath(), "f32/fixed/"))
			if asm.Impl() != "avx2+fma" {
				t.Logf("kernels %s: the old binary's digests hold for avx2+fma only", asm.Impl())
				return
			}
			assert.Equal(t, r.wantModel, gotModel, "model after resuming")
			assert.Equal(t, r.wantState, gotState, "train state after resuming")
		})
	}
}
