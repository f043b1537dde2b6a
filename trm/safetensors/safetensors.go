// Package safetensors reads and writes the Hugging Face safetensors format
// (https://huggingface.co/docs/safetensors), the file format of trm's
// checkpoints and training states.
//
// A file is:
//
//	8 bytes      N, the header length, unsigned little-endian
//	N bytes      a JSON object: for each tensor, name → {"dtype", "shape",
//	             "data_offsets": [begin, end]}, plus an optional
//	             "__metadata__" object of string → string
//	the rest     the tensors' raw little-endian bytes; offsets are relative
//	             to the start of this area
//
// The reader trusts nothing in the header: it refuses a truncated file, an
// absurd header length, an unknown dtype, a byte range whose size does not
// match shape × dtype size, and ranges that overlap, leave gaps or do not
// cover the data area exactly. Every error names the file, the tensor and
// the problem. The writer emits tensors in name order with the header padded
// to a multiple of 8 bytes, and replaces files atomically.
package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"sort"
	"unsafe"

	"github.com/trm-go/trm/internal/atomicfile"
)

// MaxHeaderSize bounds the JSON header a reader accepts (100 MB, the limit of
// the reference implementation). A larger length is taken as corruption.
const MaxHeaderSize = 100 << 20

// metadataKey is the reserved header entry holding free-form metadata.
const metadataKey = "__metadata__"

// DType names an element type, spelled as in the safetensors header.
type DType string

// The element types of the safetensors format. Typed access (Float32s,
// Int32s, ...) exists for F32, F64, I32, I64 and U8; the others can be read
// and written as raw bytes.
const (
	Bool    DType = "BOOL"
	U8      DType = "U8"
	I8      DType = "I8"
	F8E5M2  DType = "F8_E5M2"
	F8E4M3  DType = "F8_E4M3"
	I16     DType = "I16"
	U16     DType = "U16"
	F16     DType = "F16"
	BF16    DType = "BF16"
	I32     DType = "I32"
	U32     DType = "U32"
	F32     DType = "F32"
	F64     DType = "F64"
	I64     DType = "I64"
	U64     DType = "U64"
	invalid DType = ""
)

var dtypeSizes = map[DType]int{
	Bool: 1, U8: 1, I8: 1, F8E5M2: 1, F8E4M3: 1,
	I16: 2, U16: 2, F16: 2, BF16: 2,
	I32: 4, U32: 4, F32: 4,
	F64: 8, I64: 8, U64: 8,
}

// Size returns the size of one element in bytes, or 0 for an unknown dtype.
func (d DType) Size() int { return dtypeSizes[d] }

// Valid reports whether d is one of the format's dtypes.
func (d DType) Valid() bool { return d.Size() > 0 }

// Tensor is one named entry of a file: its element type, its shape and its
// raw little-endian bytes (len(Data) == NumElements(Shape)·DType.Size()).
type Tensor struct {
	DType DType
	Shape []int
	Data  []byte
}

// NumElements returns the product of shape (1 for a scalar, shape []), or an
// error when a dimension is negative or the product overflows an int.
func NumElements(shape []int) (int, error) {
	n := 1
	for _, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("shape %v has a negative dimension", shape)
		}
		if d != 0 && n > math.MaxInt/d {
			return 0, fmt.Errorf("shape %v has too many elements", shape)
		}
		n *= d
	}
	return n, nil
}

// FromFloat32 returns an F32 tensor of the given shape holding a copy of
// data. It panics if len(data) does not match the shape: that is a
// programming error.
func FromFloat32(shape []int, data []float32) Tensor {
	mustMatch(shape, len(data))
	b := make([]byte, 4*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return Tensor{DType: F32, Shape: slices.Clone(shape), Data: b}
}

// Float32View returns an F32 tensor of the given shape over data itself,
// without a copy, where the machine stores a float32 as the format does
// (little-endian: amd64, arm64, and most others); elsewhere it returns
// FromFloat32's copy. For writing large tensors (a training state, a
// checkpoint) without holding them twice: data must not change until the
// tensor has been written, and writes to the tensor's Data change data. It
// panics if len(data) does not match the shape.
func Float32View(shape []int, data []float32) Tensor {
	mustMatch(shape, len(data))
	if !littleEndian {
		return FromFloat32(shape, data)
	}
	b := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(data))), 4*len(data))
	return Tensor{DType: F32, Shape: slices.Clone(shape), Data: b}
}

// littleEndian reports whether this machine stores numbers little-endian,
// the byte order of the format.
var littleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// FromFloat64 returns an F64 tensor; see FromFloat32.
func FromFloat64(shape []int, data []float64) Tensor {
	mustMatch(shape, len(data))
	b := make([]byte, 8*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint64(b[8*i:], math.Float64bits(v))
	}
	return Tensor{DType: F64, Shape: slices.Clone(shape), Data: b}
}

// FromInt32 returns an I32 tensor; see FromFloat32.
func FromInt32(shape []int, data []int32) Tensor {
	mustMatch(shape, len(data))
	b := make([]byte, 4*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint32(b[4*i:], uint32(v))
	}
	return Tensor{DType: I32, Shape: slices.Clone(shape), Data: b}
}

// FromInt64 returns an I64 tensor; see FromFloat32.
func FromInt64(shape []int, data []int64) Tensor {
	mustMatch(shape, len(data))
	b := make([]byte, 8*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint64(b[8*i:], uint64(v))
	}
	return Tensor{DType: I64, Shape: slices.Clone(shape), Data: b}
}

// FromBytes returns a one-dimensional U8 tensor holding a copy of data.
func FromBytes(data []byte) Tensor {
	return Tensor{DType: U8, Shape: []int{len(data)}, Data: slices.Clone(data)}
}

func mustMatch(shape []int, n int) {
	want, err := NumElements(shape)
	if err != nil {
		panic("safetensors: " + err.Error())
	}
	if want != n {
		panic(fmt.Sprintf("safetensors: shape %v holds %d elements, got %d values", shape, want, n))
	}
}

func (t Tensor) check(want DType) error {
	if t.DType != want {
		return fmt.Errorf("dtype is %s, want %s", t.DType, want)
	}
	n, err := NumElements(t.Shape)
	if err != nil {
		return err
	}
	if n*want.Size() != len(t.Data) {
		return fmt.Errorf("shape %v needs %d bytes of %s, data has %d", t.Shape, n*want.Size(), want, len(t.Data))
	}
	return nil
}

// Float32s decodes an F32 tensor. It returns an error for any other dtype
// or when the data length does not match the shape.
func (t Tensor) Float32s() ([]float32, error) {
	if err := t.check(F32); err != nil {
		return nil, err
	}
	out := make([]float32, len(t.Data)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(t.Data[4*i:]))
	}
	return out, nil
}

// Float64s decodes an F64 tensor; see Float32s.
func (t Tensor) Float64s() ([]float64, error) {
	if err := t.check(F64); err != nil {
		return nil, err
	}
	out := make([]float64, len(t.Data)/8)
	for i := range out {
		out[i] = math.Float64frombits(binary.LittleEndian.Uint64(t.Data[8*i:]))
	}
	return out, nil
}

// Int32s decodes an I32 tensor; see Float32s.
func (t Tensor) Int32s() ([]int32, error) {
	if err := t.check(I32); err != nil {
		return nil, err
	}
	out := make([]int32, len(t.Data)/4)
	for i := range out {
		out[i] = int32(binary.LittleEndian.Uint32(t.Data[4*i:]))
	}
	return out, nil
}

// Int64s decodes an I64 tensor; see Float32s.
func (t Tensor) Int64s() ([]int64, error) {
	if err := t.check(I64); err != nil {
		return nil, err
	}
	out := make([]int64, len(t.Data)/8)
	for i := range out {
		out[i] = int64(binary.LittleEndian.Uint64(t.Data[8*i:]))
	}
	return out, nil
}

// Bytes returns a copy of a U8 tensor's data; see Float32s.
func (t Tensor) Bytes() ([]byte, error) {
	if err := t.check(U8); err != nil {
		return nil, err
	}
	return slices.Clone(t.Data), nil
}

// File is the content of a safetensors file: named tensors and string
// metadata. Either map may be nil.
type File struct {
	Metadata map[string]string
	Tensors  map[string]Tensor
}

// Names returns the tensor names in sorted order.
func (f *File) Names() []string {
	names := make([]string, 0, len(f.Tensors))
	for n := range f.Tensors {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// headerEntry is one tensor's description in the JSON header.
type headerEntry struct {
	DType       DType   `json:"dtype"`
	Shape       []int   `json:"shape"`
	DataOffsets []int64 `json:"data_offsets"`
}

// Marshal encodes f in the safetensors format. It returns an error for an
// empty or reserved tensor name, an unknown dtype, or data whose length does
// not match its shape.
func Marshal(f *File) ([]byte, error) {
	var buf bytes.Buffer
	if err := Encode(&buf, f); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Encode writes f to w in the safetensors format; see Marshal.
func Encode(w io.Writer, f *File) error {
	names := f.Names()
	header := make(map[string]any, len(names)+1)
	if len(f.Metadata) > 0 {
		header[metadataKey] = f.Metadata
	}
	var off int64
	for _, name := range names {
		t := f.Tensors[name]
		if name == "" || name == metadataKey {
			return fmt.Errorf("safetensors: tensor name %q is reserved", name)
		}
		if !t.DType.Valid() {
			return fmt.Errorf("safetensors: tensor %q: unknown dtype %q", name, t.DType)
		}
		if err := t.check(t.DType); err != nil {
			return fmt.Errorf("safetensors: tensor %q: %w", name, err)
		}
		shape := t.Shape
		if shape == nil {
			shape = []int{}
		}
		header[name] = headerEntry{DType: t.DType, Shape: shape, DataOffsets: []int64{off, off + int64(len(t.Data))}}
		off += int64(len(t.Data))
	}
	js, err := json.Marshal(header)
	if err != nil {
		return fmt.Errorf("safetensors: encoding header: %w", err)
	}
	// Pad with spaces so the data area starts 8-byte aligned.
	if pad := (8 - len(js)%8) % 8; pad > 0 {
		js = append(js, bytes.Repeat([]byte{' '}, pad)...)
	}
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(js)))
	if _, err := w.Write(n[:]); err != nil {
		return err
	}
	if _, err := w.Write(js); err != nil {
		return err
	}
	for _, name := range names {
		if _, err := w.Write(f.Tensors[name].Data); err != nil {
			return err
		}
	}
	return nil
}

// Write saves f to path atomically (see atomicfile.Write): a crash leaves
// either the old file or the new one, never a partial file.
func Write(path string, f *File) error {
	return atomicfile.Write(path, func(w io.Writer) error { return Encode(w, f) })
}

// Read loads and validates the safetensors file at path.
func Read(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	return Unmarshal(data, path)
}

// Unmarshal parses and validates a safetensors file held in memory; name
// labels the errors (usually the file's path). The returned tensors share
// memory with data.
func Unmarshal(data []byte, name string) (*File, error) {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("safetensors %q: %s", name, fmt.Sprintf(format, args...))
	}
	if len(data) < 8 {
		return nil, fail("truncated: %d bytes, want at least 8 for the header length", len(data))
	}
	n := binary.LittleEndian.Uint64(data)
	if n > MaxHeaderSize {
		return nil, fail("header length %d is absurd (limit %d)", n, MaxHeaderSize)
	}
	if n > uint64(len(data)-8) {
		return nil, fail("truncated: header length %d but only %d bytes follow", n, len(data)-8)
	}
	header := data[8 : 8+n]
	body := data[8+n:]

	entries, meta, err := parseHeader(header)
	if err != nil {
		return nil, fail("%v", err)
	}
	type span struct {
		name       string
		begin, end int64
	}
	spans := make([]span, 0, len(entries))
	f := &File{Metadata: meta, Tensors: make(map[string]Tensor, len(entries))}
	for _, e := range entries {
		tname, h := e.name, e.entry
		if !h.DType.Valid() {
			return nil, fail("tensor %q: unknown dtype %q", tname, h.DType)
		}
		count, err := NumElements(h.Shape)
		if err != nil {
			return nil, fail("tensor %q: %v", tname, err)
		}
		begin, end := h.DataOffsets[0], h.DataOffsets[1]
		if begin < 0 || end < begin || end > int64(len(body)) {
			return nil, fail("tensor %q: data_offsets [%d, %d] out of range [0, %d]", tname, begin, end, len(body))
		}
		if count > math.MaxInt/h.DType.Size() || int64(count*h.DType.Size()) != end-begin {
			return nil, fail("tensor %q: data_offsets [%d, %d] hold %d bytes, shape %v of %s needs %d·%d",
				tname, begin, end, end-begin, h.Shape, h.DType, count, h.DType.Size())
		}
		spans = append(spans, span{tname, begin, end})
		f.Tensors[tname] = Tensor{DType: h.DType, Shape: h.Shape, Data: body[begin:end:end]}
	}
	// The byte ranges must tile the data area exactly: sorted by begin, each
	// starts where the previous ended, the last ends at the end of the file.
	sort.Slice(spans, func(i, j int) bool {
		if spans[i].begin != spans[j].begin {
			return spans[i].begin < spans[j].begin
		}
		return spans[i].end < spans[j].end
	})
	var at int64
	for i, s := range spans {
		switch {
		case s.begin < at:
			return nil, fail("tensor %q: data_offsets [%d, %d] overlap tensor %q", s.name, s.begin, s.end, spans[i-1].name)
		case s.begin > at:
			return nil, fail("tensor %q: data_offsets [%d, %d] leave a gap of %d bytes before them", s.name, s.begin, s.end, s.begin-at)
		}
		at = s.end
	}
	if at != int64(len(body)) {
		return nil, fail("%d bytes of data follow the last tensor (data area %d bytes, tensors cover %d)", int64(len(body))-at, len(body), at)
	}
	return f, nil
}

type namedEntry struct {
	name  string
	entry headerEntry
}

// parseHeader decodes the JSON header token by token so that duplicate
// names and unknown fields are caught instead of silently merged.
func parseHeader(header []byte) ([]namedEntry, map[string]string, error) {
	dec := json.NewDecoder(bytes.NewReader(header))
	tok, err := dec.Token()
	if err != nil {
		return nil, nil, fmt.Errorf("header is not JSON: %v", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, nil, errors.New("header is not a JSON object")
	}
	seen := make(map[string]bool)
	var entries []namedEntry
	var meta map[string]string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, fmt.Errorf("header is not JSON: %v", err)
		}
		key, ok := tok.(string)
		if !ok {
			return nil, nil, fmt.Errorf("header key %v is not a string", tok)
		}
		if seen[key] {
			return nil, nil, fmt.Errorf("header names %q twice", key)
		}
		seen[key] = true
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, nil, fmt.Errorf("header entry %q is not JSON: %v", key, err)
		}
		if key == metadataKey {
			if err := strictUnmarshal(raw, &meta); err != nil {
				return nil, nil, fmt.Errorf("__metadata__ must map strings to strings: %v", err)
			}
			continue
		}
		if key == "" {
			return nil, nil, errors.New("header has a tensor with an empty name")
		}
		var e headerEntry
		if err := strictUnmarshal(raw, &e); err != nil {
			return nil, nil, fmt.Errorf("tensor %q: bad header entry: %v", key, err)
		}
		if e.Shape == nil {
			return nil, nil, fmt.Errorf("tensor %q: header entry has no shape", key)
		}
		if len(e.DataOffsets) != 2 {
			return nil, nil, fmt.Errorf("tensor %q: data_offsets must be [begin, end], got %v", key, e.DataOffsets)
		}
		entries = append(entries, namedEntry{key, e})
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, nil, fmt.Errorf("header is not JSON: %v", err)
	}
	// Only padding may follow the object.
	if rest := header[dec.InputOffset():]; len(bytes.TrimRight(rest, " \t\r\n")) > 0 {
		return nil, nil, errors.New("header has bytes after the JSON object")
	}
	return entries, meta, nil
}

func strictUnmarshal(raw []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return err
	}
	if d.More() {
		return errors.New("trailing data")
	}
	return nil
}
