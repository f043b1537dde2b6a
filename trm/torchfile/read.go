package torchfile

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"math/big"
	"sort"
	"strings"

	"github.com/nlpodyssey/gopickle/pickle"
	"github.com/nlpodyssey/gopickle/types"

	"github.com/trm-go/trm/internal/readfile"
	"github.com/trm-go/trm/trm/safetensors"
)

// Limits on what Decode accepts; larger values are taken as corruption.
const (
	// MaxPickleSize bounds data.pkl (64 MiB; the pickle of a state dict
	// of a few hundred tensors is a few tens of KB).
	MaxPickleSize = 64 << 20
	// MaxRecords bounds the number of records in the archive.
	MaxRecords = 1 << 16
	// MaxDims bounds the number of dimensions of a tensor.
	MaxDims = 16
	// MaxNameLen bounds a tensor's name in bytes (PyTorch's are dotted
	// module paths of a few dozen bytes), so that errors can name it.
	MaxNameLen = 1 << 10
)

// storageDTypes maps the storage classes of Allowed to their dtype.
var storageDTypes = map[string]safetensors.DType{
	"FloatStorage":    safetensors.F32,
	"BFloat16Storage": safetensors.BF16,
	"HalfStorage":     safetensors.F16,
	"DoubleStorage":   safetensors.F64,
	"LongStorage":     safetensors.I64,
	"IntStorage":      safetensors.I32,
	"ShortStorage":    safetensors.I16,
	"CharStorage":     safetensors.I8,
	"ByteStorage":     safetensors.U8,
	"BoolStorage":     safetensors.Bool,
}

// StateDict is a state dict: tensors by name, in the order of the file.
type StateDict struct {
	// Names lists the tensor names in order.
	Names []string
	// Tensors holds each tensor: dtype, shape and raw little-endian
	// bytes, contiguous, row-major.
	Tensors map[string]safetensors.Tensor
}

// IsTorchZip reports whether data starts like a zip archive (the torch.save
// format) rather than, say, a safetensors file.
func IsTorchZip(data []byte) bool { return bytes.HasPrefix(data, []byte("PK\x03\x04")) }

// Read reads the state dict saved by torch.save at path; see Decode. Only
// a regular file is read (a symbolic link is followed to one), never more
// bytes than its size when opened: not a device such as /dev/zero or a
// FIFO, which would never end.
func Read(path string) (*StateDict, error) {
	data, err := readfile.Read(path, -1)
	if err != nil {
		return nil, fmt.Errorf("torch: %w", err)
	}
	return Decode(data, path)
}

// Decode parses a torch.save zip archive held in data; name labels the
// errors. The tensors of the result share memory with data. See the
// package documentation for what is refused.
func Decode(data []byte, name string) (sd *StateDict, err error) {
	fail := func(e error) error { return fmt.Errorf("torch file %q: %w", name, e) }
	if !IsTorchZip(data) {
		return nil, fail(errors.New("not a zip archive (torch.save writes a zip starting with PK\\x03\\x04)"))
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, fail(fmt.Errorf("corrupt zip: %w", err))
	}
	recs, prefix, err := records(zr, data)
	if err != nil {
		return nil, fail(err)
	}
	if bo, ok := recs[prefix+"byteorder"]; ok && string(bo) != "little" {
		return nil, fail(fmt.Errorf("byteorder %q, want \"little\"", bo))
	}
	pkl := recs[prefix+"data.pkl"]
	if err := scanPickle(pkl); err != nil {
		return nil, fail(fmt.Errorf("data.pkl: %w", err))
	}
	obj, err := unpickle(pkl)
	if err != nil {
		return nil, fail(fmt.Errorf("data.pkl: %w", err))
	}
	sd, err = stateDict(obj, func(key string) ([]byte, bool) {
		b, ok := recs[prefix+"data/"+key]
		return b, ok
	})
	if err != nil {
		return nil, fail(err)
	}
	return sd, nil
}

// records returns the archive's records by full name, the data of each a
// slice of data, after checking that every record is stored, inside the
// file, not overlapping another and matching its CRC-32, that all share
// one top folder, and that data.pkl is there. prefix is "<archive>/".
func records(zr *zip.Reader, data []byte) (map[string][]byte, string, error) {
	if len(zr.File) > MaxRecords {
		return nil, "", fmt.Errorf("%d records, want at most %d", len(zr.File), MaxRecords)
	}
	type span struct {
		name       string
		begin, end int64
	}
	var spans []span
	recs := make(map[string][]byte, len(zr.File))
	prefix := ""
	for i, f := range zr.File {
		slash := strings.IndexByte(f.Name, '/')
		if slash <= 0 {
			return nil, "", fmt.Errorf("record %q is not inside the archive folder", f.Name)
		}
		if i == 0 {
			prefix = f.Name[:slash+1]
		} else if !strings.HasPrefix(f.Name, prefix) {
			return nil, "", fmt.Errorf("record %q is outside the archive folder %q of the first record", f.Name, prefix)
		}
		if _, dup := recs[f.Name]; dup {
			return nil, "", fmt.Errorf("record %q appears twice", f.Name)
		}
		if f.Method != zip.Store {
			return nil, "", fmt.Errorf("record %q is compressed (method %d); torch.save stores records uncompressed", f.Name, f.Method)
		}
		if f.CompressedSize64 != f.UncompressedSize64 {
			return nil, "", fmt.Errorf("record %q: stored size %d differs from its size %d", f.Name, f.CompressedSize64, f.UncompressedSize64)
		}
		off, err := f.DataOffset()
		if err != nil {
			return nil, "", fmt.Errorf("record %q: %w", f.Name, err)
		}
		size := f.UncompressedSize64
		if off < 0 || size > uint64(len(data)) || uint64(off) > uint64(len(data))-size {
			return nil, "", fmt.Errorf("record %q: %d bytes at offset %d run past the end of the file (%d bytes)", f.Name, size, off, len(data))
		}
		b := data[off : off+int64(size) : off+int64(size)]
		if got := crc32.ChecksumIEEE(b); got != f.CRC32 {
			return nil, "", fmt.Errorf("record %q: CRC-32 %08x, the archive says %08x (corrupt file)", f.Name, got, f.CRC32)
		}
		recs[f.Name] = b
		spans = append(spans, span{f.Name, off, off + int64(size)})
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i].begin < spans[j].begin })
	for i := 1; i < len(spans); i++ {
		if spans[i].begin < spans[i-1].end {
			return nil, "", fmt.Errorf("records %q and %q overlap", spans[i-1].name, spans[i].name)
		}
	}
	pkl, ok := recs[prefix+"data.pkl"]
	if !ok {
		return nil, "", fmt.Errorf("no record %sdata.pkl: not a torch.save file", prefix)
	}
	if _, ok := recs[prefix+"constants.pkl"]; ok {
		return nil, "", errors.New("a TorchScript archive (constants.pkl), want a state dict saved with torch.save")
	}
	if len(pkl) > MaxPickleSize {
		return nil, "", fmt.Errorf("data.pkl has %d bytes, want at most %d", len(pkl), MaxPickleSize)
	}
	return recs, prefix, nil
}

// storageRef is what the persistent id of a storage unpickles to: nothing
// is read until the whole pickle is known.
type storageRef struct {
	dtype safetensors.DType
	class string
	key   string
	numel int
}

// tensorRef is what _rebuild_tensor_v2 builds: a contiguous view of a
// storage.
type tensorRef struct {
	storage *storageRef
	offset  int
	shape   []int
}

// storageClass stands for torch.<Type>Storage in the pickle.
type storageClass struct{ name string }

// rebuildTensor stands for torch._utils._rebuild_tensor_v2.
type rebuildTensor struct{}

// rebuildParameter stands for torch._utils._rebuild_parameter, which wraps a
// tensor as an nn.Parameter (a state dict saved with keep_vars=True).
type rebuildParameter struct{}

// findClass returns the Go stand-in of an allowed class. scanPickle has
// refused every other name already; this is the second line of defence.
func findClass(module, name string) (any, error) {
	switch module + " " + name {
	case "torch._utils _rebuild_tensor_v2":
		return rebuildTensor{}, nil
	case "torch._utils _rebuild_parameter":
		return rebuildParameter{}, nil
	}
	if module == "torch" {
		if _, ok := storageDTypes[name]; ok {
			return storageClass{name}, nil
		}
	}
	return nil, fmt.Errorf("pickle class %s.%s is not allowed", module, name)
}

// unpickle runs gopickle over a pickle that scanPickle accepted, with only
// the allowed classes and storage references as persistent ids. A panic
// inside the unpickler (malformed input it does not check) becomes an
// error.
func unpickle(pkl []byte) (obj any, err error) {
	defer func() {
		if r := recover(); r != nil {
			obj, err = nil, fmt.Errorf("malformed pickle: %s", oneLine(fmt.Sprint(r)))
		}
	}()
	u := pickle.NewUnpickler(bytes.NewReader(pkl))
	u.FindClass = findClass
	u.PersistentLoad = persistentLoad
	return u.Load()
}

// persistentLoad turns ("storage", torch.<Type>Storage, key, location,
// numel) into a storageRef.
func persistentLoad(id any) (any, error) {
	t, ok := id.(*types.Tuple)
	if !ok || t.Len() != 5 {
		return nil, fmt.Errorf("persistent id %s, want a tuple (\"storage\", type, key, location, numel)", describe(id))
	}
	if s, _ := t.Get(0).(string); s != "storage" {
		return nil, fmt.Errorf("persistent id of kind %s, want \"storage\"", describe(t.Get(0)))
	}
	cls, ok := t.Get(1).(storageClass)
	if !ok {
		return nil, fmt.Errorf("persistent id storage type %s, want a torch storage class", describe(t.Get(1)))
	}
	key, ok := t.Get(2).(string)
	if !ok || !validKey(key) {
		return nil, fmt.Errorf("storage key %s, want a short name of letters, digits and _", describe(t.Get(2)))
	}
	if _, ok := t.Get(3).(string); !ok {
		return nil, fmt.Errorf("storage %q: location %s, want a string such as \"cpu\"", key, describe(t.Get(3)))
	}
	numel, ok := toInt(t.Get(4))
	if !ok || numel < 0 {
		return nil, fmt.Errorf("storage %q: numel %s, want a whole number ≥ 0", key, describe(t.Get(4)))
	}
	return &storageRef{dtype: storageDTypes[cls.name], class: cls.name, key: key, numel: numel}, nil
}

func validKey(k string) bool {
	if k == "" || len(k) > 64 {
		return false
	}
	for _, c := range k {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_') {
			return false
		}
	}
	return true
}

// toInt accepts the ints gopickle produces (int, or *big.Int for LONG1
// values beyond int64) that fit an int.
func toInt(v any) (int, bool) {
	switch x := v.(type) {
	case int:
		return x, true
	case *big.Int:
		if x.IsInt64() && x.Int64() >= math.MinInt && x.Int64() <= math.MaxInt {
			return int(x.Int64()), true
		}
	}
	return 0, false
}

func intTuple(v any, what string) ([]int, error) {
	t, ok := v.(*types.Tuple)
	if !ok {
		return nil, fmt.Errorf("%s %s, want a tuple of ints", what, describe(v))
	}
	if t.Len() > MaxDims {
		return nil, fmt.Errorf("%s has %d dimensions, want at most %d", what, t.Len(), MaxDims)
	}
	out := make([]int, t.Len())
	for i := range out {
		n, ok := toInt(t.Get(i))
		if !ok || n < 0 {
			return nil, fmt.Errorf("%s %s: entry %d is not a whole number ≥ 0", what, describe(v), i)
		}
		out[i] = n
	}
	return out, nil
}

// emptyDict reports whether v is an empty dict or OrderedDict (or None).
func emptyDict(v any) bool {
	switch d := v.(type) {
	case nil:
		return true
	case *types.OrderedDict:
		return d.Len() == 0
	case *types.Dict:
		return d.Len() == 0
	}
	return false
}

// Call implements types.Callable: _rebuild_tensor_v2(storage,
// storage_offset, size, stride, requires_grad, backward_hooks[, metadata]).
func (rebuildTensor) Call(args ...any) (any, error) {
	if len(args) != 6 && len(args) != 7 {
		return nil, fmt.Errorf("_rebuild_tensor_v2 with %d arguments, want 6 or 7", len(args))
	}
	st, ok := args[0].(*storageRef)
	if !ok {
		return nil, fmt.Errorf("_rebuild_tensor_v2: storage %s, want a persistent storage", describe(args[0]))
	}
	off, ok := toInt(args[1])
	if !ok || off < 0 {
		return nil, fmt.Errorf("_rebuild_tensor_v2: storage offset %s, want a whole number ≥ 0", describe(args[1]))
	}
	shape, err := intTuple(args[2], "size")
	if err != nil {
		return nil, fmt.Errorf("_rebuild_tensor_v2: %w", err)
	}
	stride, err := intTuple(args[3], "stride")
	if err != nil {
		return nil, fmt.Errorf("_rebuild_tensor_v2: %w", err)
	}
	if len(stride) != len(shape) {
		return nil, fmt.Errorf("_rebuild_tensor_v2: size %v and stride %v differ in length", shape, stride)
	}
	// Contiguous row-major: each dimension of size > 1 steps over the
	// product of the later sizes (the stride of a size-1 dimension is
	// never used).
	want := 1
	for i := len(shape) - 1; i >= 0; i-- {
		if shape[i] > 1 && stride[i] != want {
			return nil, fmt.Errorf("_rebuild_tensor_v2: size %v with stride %v is not contiguous (want stride %d in dimension %d)", shape, stride, want, i)
		}
		if shape[i] != 0 && want > math.MaxInt/shape[i] {
			return nil, fmt.Errorf("_rebuild_tensor_v2: size %v has too many elements", shape)
		}
		want *= shape[i]
	}
	if _, ok := args[4].(bool); !ok {
		return nil, fmt.Errorf("_rebuild_tensor_v2: requires_grad %s, want a bool", describe(args[4]))
	}
	if !emptyDict(args[5]) {
		return nil, errors.New("_rebuild_tensor_v2: backward hooks are not supported (want an empty OrderedDict)")
	}
	if len(args) == 7 && !emptyDict(args[6]) {
		return nil, errors.New("_rebuild_tensor_v2: tensor metadata is not supported (want none)")
	}
	return &tensorRef{storage: st, offset: off, shape: shape}, nil
}

// Call implements types.Callable: _rebuild_parameter(data, requires_grad,
// backward_hooks) is the tensor itself.
func (rebuildParameter) Call(args ...any) (any, error) {
	if len(args) != 3 {
		return nil, fmt.Errorf("_rebuild_parameter with %d arguments, want 3", len(args))
	}
	t, ok := args[0].(*tensorRef)
	if !ok {
		return nil, fmt.Errorf("_rebuild_parameter: data %s, want a tensor", describe(args[0]))
	}
	if !emptyDict(args[2]) {
		return nil, errors.New("_rebuild_parameter: backward hooks are not supported")
	}
	return t, nil
}

// stateDict checks the unpickled object (an OrderedDict or dict of name →
// tensor) and slices each tensor out of its storage record.
func stateDict(obj any, record func(key string) ([]byte, bool)) (*StateDict, error) {
	type entry struct {
		key, value any
	}
	var entries []entry
	switch d := obj.(type) {
	case *types.OrderedDict:
		entries = make([]entry, 0, d.Len())
		for e := d.List.Front(); e != nil; e = e.Next() {
			oe := e.Value.(*types.OrderedDictEntry)
			entries = append(entries, entry{oe.Key, oe.Value})
		}
	case *types.Dict:
		entries = make([]entry, 0, d.Len())
		for _, de := range *d {
			entries = append(entries, entry{de.Key, de.Value})
		}
	default:
		return nil, fmt.Errorf("data.pkl holds %s, want a state dict (an OrderedDict of tensors)", describe(obj))
	}
	sd := &StateDict{Tensors: make(map[string]safetensors.Tensor, len(entries))}
	checked := map[string]*storageRef{}
	for _, e := range entries {
		name, ok := e.key.(string)
		if !ok {
			return nil, fmt.Errorf("state dict key %s is not a string", describe(e.key))
		}
		label := quote(name) // the name in errors, bounded
		if len(name) > MaxNameLen {
			return nil, fmt.Errorf("state dict key %s is longer than %d bytes", label, MaxNameLen)
		}
		t, ok := e.value.(*tensorRef)
		if !ok {
			return nil, fmt.Errorf("state dict entry %s holds %T, want a tensor", label, e.value)
		}
		if _, dup := sd.Tensors[name]; dup {
			return nil, fmt.Errorf("state dict names %s twice", label)
		}
		st := t.storage
		if prev, ok := checked[st.key]; ok && (prev.dtype != st.dtype || prev.numel != st.numel) {
			return nil, fmt.Errorf("tensor %s: storage %q is declared as %d × %s and as %d × %s", label, st.key, prev.numel, prev.class, st.numel, st.class)
		}
		data, ok := record(st.key)
		if !ok {
			return nil, fmt.Errorf("tensor %s: storage record data/%s is missing", label, st.key)
		}
		es := st.dtype.Size()
		if st.numel > math.MaxInt/es || len(data) != st.numel*es {
			return nil, fmt.Errorf("tensor %s: storage data/%s has %d bytes, the pickle declares %d elements of %s (%d bytes each)",
				label, st.key, len(data), st.numel, st.class, es)
		}
		checked[st.key] = st
		n, err := safetensors.NumElements(t.shape)
		if err != nil {
			return nil, fmt.Errorf("tensor %s: %w", label, err)
		}
		if t.offset > st.numel || n > st.numel-t.offset {
			return nil, fmt.Errorf("tensor %s: %d elements at offset %d run past its storage data/%s of %d elements",
				label, n, t.offset, st.key, st.numel)
		}
		b := data[t.offset*es : (t.offset+n)*es : (t.offset+n)*es]
		sd.Names = append(sd.Names, name)
		sd.Tensors[name] = safetensors.Tensor{DType: st.dtype, Shape: t.shape, Data: b}
	}
	return sd, nil
}
