package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func sampleFile() *File {
	return &File{
		Metadata: map[string]string{"format": "test", "note": "ünïcode ✓"},
		Tensors: map[string]Tensor{
			"w":      FromFloat32([]int{2, 3}, []float32{1, -2, 3.5, float32(math.Inf(1)), 0, -0.25}),
			"bias":   FromFloat32([]int{3}, []float32{0.1, 0.2, 0.3}),
			"scalar": FromFloat64([]int{}, []float64{math.Pi}),
			"ids":    FromInt32([]int{4}, []int32{-100, 0, 7, math.MaxInt32}),
			"step":   FromInt64([]int{1}, []int64{math.MinInt64 + 1}),
			"empty":  FromFloat32([]int{0, 5}, nil),
			"rng":    FromBytes([]byte{1, 2, 3}),
			"half":   {DType: BF16, Shape: []int{2}, Data: []byte{0x80, 0x3f, 0x00, 0x40}},
		},
	}
}

func TestRoundTripInMemory(t *testing.T) {
	f := sampleFile()
	data, err := Marshal(f)
	require.NoError(t, err)

	// Header length word, header padded to 8, data right after.
	n := binary.LittleEndian.Uint64(data)
	assert.Zero(t, (8+n)%8, "data area must start 8-byte aligned")

	g, err := Unmarshal(data, "mem")
	require.NoError(t, err)
	assert.Equal(t, f.Metadata, g.Metadata)
	require.Equal(t, f.Names(), g.Names())
	for _, name := range f.Names() {
		want, got := f.Tensors[name], g.Tensors[name]
		assert.Equal(t, want.DType, got.DType, name)
		assert.Equal(t, len(want.Shape), len(got.Shape), name)
		if len(want.Shape) > 0 {
			assert.Equal(t, want.Shape, got.Shape, name)
		}
		assert.Equal(t, want.Data, got.Data, name)
	}

	w, err := g.Tensors["w"].Float32s()
	require.NoError(t, err)
	assert.Equal(t, []float32{1, -2, 3.5, float32(math.Inf(1)), 0, -0.25}, w)
	ids, err := g.Tensors["ids"].Int32s()
	require.NoError(t, err)
	assert.Equal(t, []int32{-100, 0, 7, math.MaxInt32}, ids)
	step, err := g.Tensors["step"].Int64s()
	require.NoError(t, err)
	assert.Equal(t, []int64{math.MinInt64 + 1}, step)
	pi, err := g.Tensors["scalar"].Float64s()
	require.NoError(t, err)
	assert.Equal(t, []float64{math.Pi}, pi)
	raw, err := g.Tensors["rng"].Bytes()
	require.NoError(t, err)
	assert.Equal(t, []byte{1, 2, 3}, raw)
	empty, err := g.Tensors["empty"].Float32s()
	require.NoError(t, err)
	assert.Empty(t, empty)

	// Deterministic: the same content always encodes to the same bytes.
	again, err := Marshal(g)
	require.NoError(t, err)
	assert.Equal(t, data, again)
}

func TestNaNSurvives(t *testing.T) {
	nan := math.Float32frombits(0x7fc00001)
	data, err := Marshal(&File{Tensors: map[string]Tensor{"x": FromFloat32([]int{1}, []float32{nan})}})
	require.NoError(t, err)
	g, err := Unmarshal(data, "mem")
	require.NoError(t, err)
	x, err := g.Tensors["x"].Float32s()
	require.NoError(t, err)
	assert.Equal(t, uint32(0x7fc00001), math.Float32bits(x[0]))
}

func TestWrongTypedAccess(t *testing.T) {
	tt := FromInt32([]int{2}, []int32{1, 2})
	_, err := tt.Float32s()
	assert.ErrorContains(t, err, "dtype is I32, want F32")
	bad := Tensor{DType: F32, Shape: []int{3}, Data: make([]byte, 8)}
	_, err = bad.Float32s()
	assert.ErrorContains(t, err, "needs 12 bytes")
}

func TestEncodeRejectsBadTensors(t *testing.T) {
	cases := map[string]struct {
		f    *File
		want string
	}{
		"reserved name": {&File{Tensors: map[string]Tensor{metadataKey: FromFloat32([]int{1}, []float32{1})}}, "reserved"},
		"empty name":    {&File{Tensors: map[string]Tensor{"": FromFloat32([]int{1}, []float32{1})}}, "reserved"},
		"unknown dtype": {&File{Tensors: map[string]Tensor{"x": {DType: "F128", Shape: []int{1}, Data: make([]byte, 16)}}}, `unknown dtype "F128"`},
		"short data":    {&File{Tensors: map[string]Tensor{"x": {DType: F32, Shape: []int{2}, Data: make([]byte, 4)}}}, "needs 8 bytes"},
		"negative dim":  {&File{Tensors: map[string]Tensor{"x": {DType: F32, Shape: []int{-1}}}}, "negative"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Marshal(c.f)
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
		})
	}
}

// Float32View encodes to the same bytes as FromFloat32's copy, and is the
// float32 storage itself on a little-endian machine (every one this
// project builds for).
func TestFloat32View(t *testing.T) {
	data := []float32{1, -2, 3.5, float32(math.Inf(1)), float32(math.NaN()), -0.25}
	view, cp := Float32View([]int{2, 3}, data), FromFloat32([]int{2, 3}, data)
	assert.Equal(t, cp, view)
	a, err := Marshal(&File{Tensors: map[string]Tensor{"w": view}})
	require.NoError(t, err)
	b, err := Marshal(&File{Tensors: map[string]Tensor{"w": cp}})
	require.NoError(t, err)
	assert.Equal(t, b, a)
	got, err := view.Float32s()
	require.NoError(t, err)
	assert.Equal(t, math.Float32bits(data[4]), math.Float32bits(got[4]))
	if littleEndian {
		data[0] = 7
		v, err := view.Float32s()
		require.NoError(t, err)
		assert.Equal(t, float32(7), v[0], "a view, not a copy")
	}
	assert.Panics(t, func() { Float32View([]int{4}, data) })
	assert.Empty(t, Float32View([]int{0, 5}, nil).Data)
}

func TestConstructorPanicsOnShapeMismatch(t *testing.T) {
	assert.Panics(t, func() { FromFloat32([]int{2, 2}, []float32{1, 2, 3}) })
	assert.Panics(t, func() { FromInt64([]int{-1}, nil) })
}

// build assembles a file from a literal header and a data area.
func build(header string, body []byte) []byte {
	var out bytes.Buffer
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(header)))
	out.Write(n[:])
	out.WriteString(header)
	out.Write(body)
	return out.Bytes()
}

func TestUnmarshalRejectsLies(t *testing.T) {
	body8 := make([]byte, 8)
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"empty file", nil, "truncated: 0 bytes"},
		{"short length word", []byte{1, 0, 0}, "truncated: 3 bytes"},
		{"header longer than file", build(`{}`, nil)[:9], "truncated: header length 2"},
		{"absurd header length", func() []byte {
			b := make([]byte, 16)
			binary.LittleEndian.PutUint64(b, math.MaxUint64)
			return b
		}(), "absurd"},
		{"not json", build(`{"a":`, nil), "not JSON"},
		{"not an object", build(`[1,2]`, nil), "not a JSON object"},
		{"trailing garbage", build(`{} x`, nil), "bytes after the JSON object"},
		{"unknown dtype", build(`{"x":{"dtype":"F7","shape":[2],"data_offsets":[0,8]}}`, body8), `tensor "x": unknown dtype "F7"`},
		{"missing dtype", build(`{"x":{"shape":[2],"data_offsets":[0,8]}}`, body8), `tensor "x": unknown dtype ""`},
		{"missing shape", build(`{"x":{"dtype":"F32","data_offsets":[0,8]}}`, body8), `tensor "x": header entry has no shape`},
		{"missing offsets", build(`{"x":{"dtype":"F32","shape":[2]}}`, body8), `tensor "x": data_offsets must be [begin, end]`},
		{"three offsets", build(`{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8,9]}}`, body8), `data_offsets must be [begin, end]`},
		{"unknown field", build(`{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"extra":1}}`, body8), `tensor "x": bad header entry`},
		{"fractional shape", build(`{"x":{"dtype":"F32","shape":[1.5],"data_offsets":[0,8]}}`, body8), `tensor "x": bad header entry`},
		{"negative shape", build(`{"x":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}`, body8), `tensor "x": shape [-2] has a negative dimension`},
		{"overflowing shape", build(`{"x":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}}`, body8), "too many elements"},
		{"size mismatch", build(`{"x":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}`, body8), `tensor "x": data_offsets [0, 8] hold 8 bytes, shape [3] of F32 needs 3·4`},
		{"offsets past end", build(`{"x":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}`, body8), `tensor "x": data_offsets [0, 16] out of range [0, 8]`},
		{"reversed offsets", build(`{"x":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}}`, body8), "out of range"},
		{"negative offset", build(`{"x":{"dtype":"U8","shape":[0],"data_offsets":[-1,-1]}}`, body8), "out of range"},
		{"overlap", build(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, body8), "overlap"},
		{"gap", build(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, body8), `tensor "a": data_offsets [4, 8] leave a gap of 4 bytes`},
		{"trailing data", build(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, body8), "4 bytes of data follow the last tensor"},
		{"duplicate name", build(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, body8), `header names "a" twice`},
		{"empty name", build(`{"":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, body8), "empty name"},
		{"metadata not strings", build(`{"__metadata__":{"a":1}}`, nil), "__metadata__ must map strings to strings"},
		{"metadata not object", build(`{"__metadata__":[1]}`, nil), "__metadata__"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Unmarshal(c.data, "bad.safetensors")
			require.Error(t, err)
			assert.Contains(t, err.Error(), `safetensors "bad.safetensors": `)
			assert.Contains(t, err.Error(), c.want)
		})
	}
}

func TestUnmarshalAcceptsForeignLayout(t *testing.T) {
	// A file as another writer might produce it: unpadded header, tensors
	// stored in an order different from their names, zero-size tensors.
	body := make([]byte, 12)
	binary.LittleEndian.PutUint32(body[0:], math.Float32bits(1.5))
	binary.LittleEndian.PutUint64(body[4:], 42)
	data := build(`{"z":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"I64","shape":[],"data_offsets":[4,12]},"e":{"dtype":"F16","shape":[0],"data_offsets":[12,12]},"__metadata__":null}`, body)
	f, err := Unmarshal(data, "x")
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "e", "z"}, f.Names())
	z, err := f.Tensors["z"].Float32s()
	require.NoError(t, err)
	assert.Equal(t, []float32{1.5}, z)
	a, err := f.Tensors["a"].Int64s()
	require.NoError(t, err)
	assert.Equal(t, []int64{42}, a)
}

func TestEveryTruncationFails(t *testing.T) {
	data, err := Marshal(sampleFile())
	require.NoError(t, err)
	for n := 0; n < len(data); n++ {
		_, err := Unmarshal(data[:n], "cut")
		require.Error(t, err, "prefix of %d of %d bytes", n, len(data))
	}
}

func TestWriteReadFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.safetensors")
	require.NoError(t, Write(path, sampleFile()))
	st, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o644), st.Mode().Perm())

	f, err := Read(path)
	require.NoError(t, err)
	assert.Equal(t, sampleFile().Names(), f.Names())

	// Overwrite with different content.
	require.NoError(t, Write(path, &File{Metadata: map[string]string{"v": "2"}}))
	f, err = Read(path)
	require.NoError(t, err)
	assert.Equal(t, "2", f.Metadata["v"])
	assert.Empty(t, f.Tensors)

	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 1, "no temporary files may remain")

	_, err = Read(filepath.Join(dir, "missing.safetensors"))
	assert.ErrorIs(t, err, os.ErrNotExist)
}

func TestWriteKeepsOldFileOnBadTensors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.txt")
	require.NoError(t, os.WriteFile(path, []byte("old"), 0o644))
	// Bad tensors are caught before the old file is replaced.
	err := Write(path, &File{Tensors: map[string]Tensor{"x": {DType: "??"}}})
	require.Error(t, err)
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "old", string(got))
}

func TestHeaderIsStandardJSON(t *testing.T) {
	data, err := Marshal(sampleFile())
	require.NoError(t, err)
	n := binary.LittleEndian.Uint64(data)
	var h map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(data[8:8+n], &h))
	assert.JSONEq(t, `{"format":"test","note":"ünïcode ✓"}`, string(h["__metadata__"]))
	// Tensors are laid out in name order: bias (12 bytes), empty (0), half
	// (4), ids (16), rng (3), scalar (8), step (8), then w.
	assert.JSONEq(t, `{"dtype":"F32","shape":[2,3],"data_offsets":[51,75]}`, string(h["w"]))
	assert.JSONEq(t, `{"dtype":"F32","shape":[0,5],"data_offsets":[12,12]}`, string(h["empty"]))
	assert.JSONEq(t, `{"dtype":"F64","shape":[],"data_offsets":[35,43]}`, string(h["scalar"]))
}

// FuzzRead feeds arbitrary bytes to the parser: it must never panic, and
// whatever it accepts must re-encode and parse back to the same content.
func FuzzRead(f *testing.F) {
	good, err := Marshal(sampleFile())
	require.NoError(f, err)
	f.Add(good)
	f.Add([]byte{})
	f.Add(build(`{}`, nil))
	f.Add(build(`{"__metadata__":{"k":"v"}}`, nil))
	f.Add(build(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, make([]byte, 4)))
	f.Add(build(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, make([]byte, 8)))
	f.Add(build(`{"a":{"dtype":"I64","shape":[9223372036854775807],"data_offsets":[0,8]}}`, make([]byte, 8)))
	f.Add(build(`{"a":{"dtype":"U8","shape":[0],"data_offsets":[0,0]},"a":1}`, nil))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Unmarshal(data, "fuzz")
		if err != nil {
			return
		}
		again, err := Marshal(file)
		if err != nil {
			t.Fatalf("accepted file does not re-encode: %v", err)
		}
		back, err := Unmarshal(again, "fuzz-again")
		if err != nil {
			t.Fatalf("re-encoded file does not parse: %v", err)
		}
		if len(back.Tensors) != len(file.Tensors) {
			t.Fatalf("tensor count changed: %d → %d", len(file.Tensors), len(back.Tensors))
		}
		for name, tt := range file.Tensors {
			if !bytes.Equal(back.Tensors[name].Data, tt.Data) || back.Tensors[name].DType != tt.DType {
				t.Fatalf("tensor %q changed in the round trip", name)
			}
		}
	})
}
