package torchfile

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/trm-go/trm/internal/readfile"
	"github.com/trm-go/trm/trm/safetensors"
)

// fixtures are the official-layout checkpoints written by
// scripts/torch/make_fixtures.py with torch.save (torch 1.13).
var fixtures = []string{
	"../testdata/torch/attn_compiled/step_100",
	"../testdata/torch/mlp_plain/step_7",
	"../testdata/torch/attn_learned/step_3",
}

func TestReadTorchFixtures(t *testing.T) {
	sd, err := Read(fixtures[0])
	require.NoError(t, err)
	require.Equal(t, "_orig_mod.model.inner.H_init", sd.Names[0]) // a module's own buffers come first
	require.Equal(t, safetensors.BF16, sd.Tensors["_orig_mod.model.inner.H_init"].DType)
	require.Equal(t, []int{16}, sd.Tensors["_orig_mod.model.inner.H_init"].Shape)
	emb := sd.Tensors["_orig_mod.model.inner.embed_tokens.embedding_weight"]
	require.Equal(t, safetensors.F32, emb.DType)
	require.Equal(t, []int{6, 16}, emb.Shape)
	require.Len(t, emb.Data, 6*16*4)

	sd, err = Read(fixtures[1])
	require.NoError(t, err)
	require.Equal(t, safetensors.F16, sd.Tensors["model.inner.lm_head.weight"].DType)
	require.Equal(t, safetensors.BF16, sd.Tensors["model.inner.L_level.layers.0.mlp_t.down_proj.weight"].DType)
}

// TestEncodeDecodeRoundTrip: what Encode writes, Decode reads back bit for
// bit, with every record's data 64-byte aligned as torch.save writes it.
func TestEncodeDecodeRoundTrip(t *testing.T) {
	for _, path := range fixtures {
		sd, err := Read(path)
		require.NoError(t, err)
		var buf bytes.Buffer
		require.NoError(t, Encode(&buf, "step_1", sd))
		back, err := Decode(buf.Bytes(), "re-encoded")
		require.NoError(t, err)
		require.Equal(t, sd.Names, back.Names)
		for _, n := range sd.Names {
			require.Equal(t, sd.Tensors[n], back.Tensors[n], n)
		}
		zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
		require.NoError(t, err)
		for _, f := range zr.File {
			off, err := f.DataOffset()
			require.NoError(t, err)
			require.Zero(t, off%recordAlign, f.Name)
			require.Equal(t, zip.Store, f.Method)
		}
		require.Equal(t, "step_1/data.pkl", zr.File[0].Name)
	}
}

// TestReadRefusesWhatIsNotAFile: Read checks the file before reading it:
// a link to /dev/zero (read without end before) or a folder is refused.
func TestReadRefusesWhatIsNotAFile(t *testing.T) {
	dir := t.TempDir()
	_, err := Read(dir)
	require.ErrorIs(t, err, readfile.ErrNotRegular)
	if runtime.GOOS == "windows" {
		return
	}
	link := filepath.Join(dir, "step_1")
	require.NoError(t, os.Symlink("/dev/zero", link))
	_, err = Read(link)
	require.ErrorIs(t, err, readfile.ErrNotRegular)
	require.ErrorContains(t, err, link+": it is a device")
}

func TestWriteNamesArchiveAfterFile(t *testing.T) {
	sd := &StateDict{Names: []string{"w"}, Tensors: map[string]safetensors.Tensor{"w": safetensors.FromFloat32([]int{2, 2}, []float32{1, 2, 3, 4})}}
	path := filepath.Join(t.TempDir(), "step_5")
	require.NoError(t, Write(path, sd))
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	require.NoError(t, err)
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
	}
	require.Equal(t, []string{"step_5/data.pkl", "step_5/byteorder", "step_5/data/0", "step_5/version"}, names)
	back, err := Read(path)
	require.NoError(t, err)
	require.Equal(t, sd, back)
}

func TestEncodeRefuses(t *testing.T) {
	var buf bytes.Buffer
	bad := &StateDict{Names: []string{"a"}, Tensors: map[string]safetensors.Tensor{"b": safetensors.FromFloat32([]int{1}, []float32{1})}}
	require.ErrorContains(t, Encode(&buf, "x", bad), `"a" is listed but missing`)
	bad = &StateDict{Names: []string{"a"}, Tensors: map[string]safetensors.Tensor{"a": {DType: safetensors.F32, Shape: []int{2}, Data: []byte{0}}}}
	require.ErrorContains(t, Encode(&buf, "x", bad), "needs 8 bytes, data has 1")
	bad = &StateDict{Names: []string{"a"}, Tensors: map[string]safetensors.Tensor{"a": {DType: safetensors.F8E4M3, Shape: []int{1}, Data: []byte{0}}}}
	require.ErrorContains(t, Encode(&buf, "x", bad), "no torch storage type")
	require.ErrorContains(t, Encode(&buf, "../x", &StateDict{}), "archive name")
}

// TestPicklerInts: every int form the writer emits unpickles to its value.
func TestPicklerInts(t *testing.T) {
	for _, v := range []int{0, 1, 255, 256, 65535, 65536, 1<<31 - 1, 1 << 31, 1 << 40, -1, -129, -1 << 31, -1<<31 - 1, math.MaxInt64, math.MinInt64} {
		var p pickler
		p.proto(2)
		p.int(v)
		p.op(opStop)
		require.NoError(t, scanPickle(p.buf.Bytes()), "%d", v)
		got, err := unpickle(p.buf.Bytes())
		require.NoError(t, err, "%d", v)
		n, ok := toInt(got)
		require.True(t, ok, "%d: %T %v", v, got, got)
		require.Equal(t, v, n)
	}
}

// zipOf builds an archive of the given records (stored, aligned) in order.
func zipOf(t testing.TB, recs ...[2]string) []byte {
	var buf bytes.Buffer
	cw := &countWriter{w: &buf}
	zw := zip.NewWriter(cw)
	for _, r := range recs {
		require.NoError(t, addRecord(zw, cw, r[0], []byte(r[1])))
	}
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

// tensorPickle is the pickle of {"w": tensor} over storage "0" with the
// given storage class, numel, offset, size and stride.
func tensorPickle(class string, numel, offset int, size, stride []int) []byte {
	var p pickler
	p.proto(2)
	p.global("collections", "OrderedDict")
	p.op(opEmptyTuple)
	p.op(opReduce)
	p.op(opMark)
	p.str("w")
	p.global("torch._utils", "_rebuild_tensor_v2")
	p.op(opMark)
	p.op(opMark)
	p.str("storage")
	p.global("torch", class)
	p.str("0")
	p.str("cpu")
	p.int(numel)
	p.op(opTuple)
	p.op(opBinPersID)
	p.int(offset)
	p.ints(size)
	p.ints(stride)
	p.op(opNewFalse)
	p.global("collections", "OrderedDict")
	p.op(opEmptyTuple)
	p.op(opReduce)
	p.op(opTuple)
	p.op(opReduce)
	p.op(opSetItems)
	p.op(opStop)
	return p.buf.Bytes()
}

func TestDecodeView(t *testing.T) {
	// A tensor viewing the middle of its storage.
	data := zipOf(t, [2]string{"a/data.pkl", string(tensorPickle("FloatStorage", 4, 1, []int{2}, []int{1}))},
		[2]string{"a/data/0", "\x00\x00\x80\x3f\x00\x00\x00\x40\x00\x00\x40\x40\x00\x00\x80\x40"}, [2]string{"a/version", "3\n"})
	sd, err := Decode(data, "x")
	require.NoError(t, err)
	v, err := sd.Tensors["w"].Float32s()
	require.NoError(t, err)
	require.Equal(t, []float32{2, 3}, v)
}

// TestDecodeRefuses: corrupt, truncated, compressed, oversized, overlapping
// and hostile files are refused with an error saying what is wrong.
func TestDecodeRefuses(t *testing.T) {
	good, err := os.ReadFile(fixtures[0])
	require.NoError(t, err)
	four := "\x00\x00\x80\x3f\x00\x00\x00\x40\x00\x00\x40\x40\x00\x00\x80\x40"
	withPickle := func(pkl []byte, storage string) []byte {
		return zipOf(t, [2]string{"a/data.pkl", string(pkl)}, [2]string{"a/data/0", storage}, [2]string{"a/version", "3\n"})
	}
	raw := func(ops string) []byte { return []byte("\x80\x02" + ops) }

	flipped := bytes.Clone(good)
	flipped[len(good)/2] ^= 0xff // inside a storage record

	var deflated bytes.Buffer
	zw := zip.NewWriter(&deflated)
	w, err := zw.CreateHeader(&zip.FileHeader{Name: "a/data.pkl", Method: zip.Deflate})
	require.NoError(t, err)
	_, err = w.Write(tensorPickle("FloatStorage", 1<<20, 0, []int{1 << 20}, []int{1}))
	require.NoError(t, err)
	w, err = zw.CreateHeader(&zip.FileHeader{Name: "a/data/0", Method: zip.Deflate})
	require.NoError(t, err)
	_, err = w.Write(make([]byte, 4<<20)) // 4 MiB of zeros in a few KB: a bomb
	require.NoError(t, err)
	require.NoError(t, zw.Close())

	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "not a zip archive"},
		{"safetensors", []byte("\x08\x00\x00\x00\x00\x00\x00\x00{}      "), "not a zip archive"},
		{"truncated", good[:len(good)/2], "corrupt zip"},
		{"truncated end", good[:len(good)-10], "corrupt zip"},
		{"corrupt data", flipped, "CRC-32"},
		{"compressed (zip bomb)", deflated.Bytes(), "compressed"},
		{"no data.pkl", zipOf(t, [2]string{"a/version", "3\n"}), "no record a/data.pkl"},
		{"two folders", zipOf(t, [2]string{"a/data.pkl", "x"}, [2]string{"b/data/0", ""}), "outside the archive folder"},
		{"top-level record", zipOf(t, [2]string{"data.pkl", "x"}), "not inside the archive folder"},
		{"torchscript", zipOf(t, [2]string{"a/data.pkl", "x"}, [2]string{"a/constants.pkl", "x"}), "TorchScript"},
		{"big endian", zipOf(t, [2]string{"a/data.pkl", "x"}, [2]string{"a/byteorder", "big"}), `byteorder "big"`},
		{"huge declared size", withPickle(tensorPickle("FloatStorage", 1<<40, 0, []int{1 << 40}, []int{1}), four),
			"storage data/0 has 16 bytes, the pickle declares 1099511627776 elements"},
		{"tensor past storage", withPickle(tensorPickle("FloatStorage", 4, 2, []int{3}, []int{1}), four),
			"3 elements at offset 2 run past its storage"},
		{"not contiguous", withPickle(tensorPickle("FloatStorage", 4, 0, []int{2, 2}, []int{1, 2}), four), "not contiguous"},
		{"missing storage", zipOf(t, [2]string{"a/data.pkl", string(tensorPickle("FloatStorage", 4, 0, []int{4}, []int{1}))}),
			"storage record data/0 is missing"},
		{"class os.system", withPickle(raw("cos\nsystem\n(X\x02\x00\x00\x00lstR."), four), "pickle class os.system at offset 2 is not allowed"},
		{"class builtins.eval", withPickle(raw("cbuiltins\neval\n."), four), "builtins.eval"},
		{"copy_reg reconstructor", withPickle(raw("ccopy_reg\n_reconstructor\n."), four), "copy_reg._reconstructor"},
		{"long class name", withPickle(raw("c"+strings.Repeat("\x9a", 1<<20)+"\nx\n."), four),
			`pickle class "` + strings.Repeat("\\x9a", 64) + `"… (a string of 1048578 bytes) at offset 2 is not allowed`},
		{"opcode INST", withPickle(raw("(ios\nsystem\n."), four), "opcode INST"},
		{"opcode STACK_GLOBAL", withPickle(raw("X\x02\x00\x00\x00osX\x06\x00\x00\x00system\x93."), four), "opcode STACK_GLOBAL"},
		{"opcode NEWOBJ", withPickle(raw(")\x81."), four), "opcode NEWOBJ"},
		{"unknown opcode", withPickle(raw("\xff."), four), "unknown pickle opcode 0xff"},
		{"protocol 5", withPickle([]byte("\x80\x05N."), four), "pickle protocol 5"},
		{"string past end", withPickle(raw("X\xff\xff\xff\x7f"), four), "runs past the end"},
		{"no stop", withPickle(raw("N"), four), "without a STOP"},
		{"bytes after stop", withPickle(raw("N.N"), four), "after its STOP"},
		{"not a dict", withPickle(raw("N."), four), "want a state dict"},
		{"stack underflow", withPickle(raw("R."), four), "data.pkl"},
		{"odd setitems", withPickle(raw("}(K\x01u."), four), "data.pkl"},
		{"not a tensor", withPickle(raw("}X\x01\x00\x00\x00wK\x01s."), four), `entry "w" holds int, want a tensor`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode(tc.data, "f")
			require.Error(t, err)
			require.Less(t, len(err.Error()), 1000)
			require.ErrorContains(t, err, tc.want)
			require.ErrorContains(t, err, `torch file "f"`)
		})
	}
}

// TestDecodeRefusesOverlap: two records whose data overlap (the trick of
// non-recursive zip bombs) are refused.
func TestDecodeRefusesOverlap(t *testing.T) {
	data := zipOf(t, [2]string{"a/data.pkl", string(tensorPickle("FloatStorage", 1, 0, []int{1}, []int{1}))},
		[2]string{"a/data/0", "\x00\x00\x80\x3f"})
	// Point the second central-directory entry at the first local header,
	// with the first one's CRC and sizes.
	first := bytes.Index(data, []byte("PK\x01\x02"))
	cd := bytes.LastIndex(data, []byte("PK\x01\x02"))
	require.Greater(t, cd, first)
	copy(data[cd+16:cd+28], data[first+16:first+28])
	binary.LittleEndian.PutUint32(data[cd+42:], 0)
	// The names differ, but both records now read the bytes of data.pkl.
	_, err := Decode(data, "f")
	require.ErrorContains(t, err, "overlap")
}

// decodeBudget is what Decode may allocate for an input of n bytes: a few
// hundred bytes per byte (the most an opcode of the pickle makes the
// unpickler allocate, a MARK, is about 300) and never more than 100 MB,
// whatever n.
func decodeBudget(n int) uint64 { return min(1<<20+400*uint64(n), bombBudget) }

// FuzzDecode: no input makes Decode panic, allocate more than
// decodeBudget, return an error of more than one short line, or accept
// something it cannot write back; accepted archives re-encode to the same
// tensors.
func FuzzDecode(f *testing.F) {
	for _, path := range fixtures {
		data, err := os.ReadFile(path)
		require.NoError(f, err)
		f.Add(data)
	}
	f.Add(zipOf(f, [2]string{"a/data.pkl", string(tensorPickle("HalfStorage", 2, 0, []int{2}, []int{1}))}, [2]string{"a/data/0", "\x00\x3c\x00\x40"}))
	// Small bombs: DUPs of a string into BINPERSID, MARKs, MEMOIZEs.
	f.Add(archive(f, repeat("\x80\x02("+strOp(1<<10), "2", 1<<10, "lQ.")))
	f.Add(archive(f, repeat("\x80\x02", "(", 1<<10, ".")))
	f.Add(archive(f, repeat("\x80\x04N", "\x94", 1<<10, ".")))
	f.Add(archive(f, []byte("\x80\x02"+bigList(16, 1<<10)+")R.")))
	f.Fuzz(func(t *testing.T, data []byte) {
		var sd *StateDict
		var err error
		if n := allocated(func() { sd, err = Decode(data, "fuzz") }); n > decodeBudget(len(data)) {
			t.Fatalf("Decode of %d bytes allocated %d bytes, more than its budget %d (err: %v)", len(data), n, decodeBudget(len(data)), err)
		}
		if err != nil {
			if msg := err.Error(); len(msg) > 1000 || strings.Contains(msg, "\n") {
				t.Fatalf("error of %d bytes or more than one line: %.1000q", len(msg), msg)
			}
			return
		}
		var buf bytes.Buffer
		if err := Encode(&buf, "x", sd); err != nil {
			// Only tensors of a dtype without a storage type could fail;
			// Decode returns none.
			t.Fatalf("decoded state dict does not encode: %v", err)
		}
		back, err := Decode(buf.Bytes(), "again")
		if err != nil {
			t.Fatalf("re-encoded state dict does not decode: %v", err)
		}
		if len(back.Names) != len(sd.Names) {
			t.Fatalf("%d tensors, then %d", len(sd.Names), len(back.Names))
		}
		for _, n := range sd.Names {
			a, b := sd.Tensors[n], back.Tensors[n]
			if a.DType != b.DType || !bytes.Equal(a.Data, b.Data) || len(a.Shape) != len(b.Shape) {
				t.Fatalf("tensor %q changed in the round trip", n)
			}
		}
	})
}
