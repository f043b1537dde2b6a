package trm

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/trm-go/trm/nn"
	"github.com/trm-go/trm/trm/task"
)

// The 2 GB measurement of issue 14, by hand (never in CI, never committed):
//
//	TRM_LARGE_CHECKPOINT_WRITE=/tmp/big.safetensors go test ./trm -run TestLargeCheckpointWrite -v
//	TRM_LARGE_CHECKPOINT=/tmp/big.safetensors go test ./trm -run TestLargeCheckpointLoad -v   # twice: page cache
//
// The model is the official Sudoku TRM-Att (hidden 512, 8 heads, 2 layers)
// with an ARC-sized puzzle-embedding table: 1,000,000 ids × 512 floats,
// 2.05 GB, like the official ARC checkpoints, where the table is most of
// the file.

const largeIDs = 1_000_000

func largeConfig(t *testing.T) Config {
	c := ModelConfig{
		HiddenSize: 512, NumHeads: 8, Expansion: 4, LLayers: 2, LCycles: 6, HCycles: 3, HaltMaxSteps: 16,
		Variant: nn.VariantAttn, PosEncodings: PosRoPE, RopeTheta: 10000, RMSNormEps: 1e-5,
		PuzzleEmbNdim: 512, PuzzleEmbLen: 16,
	}
	tk, err := task.New("sudoku9", nil)
	require.NoError(t, err)
	c.SetTask(tk)
	c.NumPuzzleIdentifiers = largeIDs
	require.NoError(t, c.Validate())
	return Config{ModelConfig: c}
}

// TestLargeCheckpointWrite streams a ~2 GB checkpoint to the path in
// TRM_LARGE_CHECKPOINT_WRITE without holding it in memory.
func TestLargeCheckpointWrite(t *testing.T) {
	path := os.Getenv("TRM_LARGE_CHECKPOINT_WRITE")
	if path == "" {
		t.Skip("set TRM_LARGE_CHECKPOINT_WRITE=FILE to write the 2 GB checkpoint")
	}
	cfg := largeConfig(t)
	specs := cfg.TensorSpecs()
	sort.Slice(specs, func(i, j int) bool { return specs[i].Name < specs[j].Name }) // the writer's order
	header := map[string]any{"__metadata__": map[string]string{
		metaFormat: CheckpointFormat, metaConfig: string(cfg.MarshalIndent()), metaStep: "0",
	}}
	var off int64
	for _, s := range specs {
		n := int64(s.Size()) * 4
		header[s.Name] = map[string]any{"dtype": "F32", "shape": s.Shape, "data_offsets": []int64{off, off + n}}
		off += n
	}
	js, err := json.Marshal(header)
	require.NoError(t, err)
	js = append(js, bytes.Repeat([]byte{' '}, (8-len(js)%8)%8)...)
	f, err := os.Create(path)
	require.NoError(t, err)
	w := bufio.NewWriterSize(f, 1<<20)
	require.NoError(t, binary.Write(w, binary.LittleEndian, uint64(len(js))))
	_, err = w.Write(js)
	require.NoError(t, err)
	x := uint32(1)
	var b [4]byte
	for _, s := range specs {
		for range s.Size() {
			x ^= x << 13
			x ^= x >> 17
			x ^= x << 5
			binary.LittleEndian.PutUint32(b[:], math.Float32bits(float32(int32(x))/(1<<33)))
			_, _ = w.Write(b[:])
		}
	}
	require.NoError(t, w.Flush())
	require.NoError(t, f.Close())
	st, err := os.Stat(path)
	require.NoError(t, err)
	t.Logf("wrote %s: %d bytes", path, st.Size())
}

// TestLargeCheckpointLoad loads the checkpoint in TRM_LARGE_CHECKPOINT as
// infer.LoadPredictor does (LoadCheckpoint, then ModelFromCheckpoint) and
// logs the time and the peak resident set of this process.
func TestLargeCheckpointLoad(t *testing.T) {
	path := os.Getenv("TRM_LARGE_CHECKPOINT")
	if path == "" {
		t.Skip("set TRM_LARGE_CHECKPOINT=FILE (see TestLargeCheckpointWrite)")
	}
	st, err := os.Stat(path)
	require.NoError(t, err)
	before := peakRSS(t)
	start := time.Now()
	ck, err := LoadCheckpoint(path)
	require.NoError(t, err)
	loaded := time.Since(start)
	m, err := ModelFromCheckpoint(ck)
	require.NoError(t, err)
	total := time.Since(start)
	runtime.KeepAlive(m)
	peak := peakRSS(t)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	t.Logf("file %.3f GB: LoadCheckpoint %v, + ModelFromCheckpoint %v; peak RSS %.3f GB (%.2f× the file; %.3f GB before loading); Go heap in use %.3f GB",
		float64(st.Size())/1e9, loaded.Round(time.Millisecond), total.Round(time.Millisecond),
		float64(peak)/1e9, float64(peak)/float64(st.Size()), float64(before)/1e9, float64(ms.HeapInuse)/1e9)
}

// peakRSS returns VmHWM of /proc/self/status in bytes (Linux).
func peakRSS(t *testing.T) int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status")
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			require.NoError(t, err)
			return kb << 10
		}
	}
	t.Skip("no VmHWM")
	return 0
}
