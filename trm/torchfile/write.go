package torchfile

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/trm-go/trm/internal/atomicfile"
	"github.com/trm-go/trm/trm/safetensors"
)

// storageClasses maps a dtype to the storage class torch pickles for it.
var storageClasses = map[safetensors.DType]string{
	safetensors.F32:  "FloatStorage",
	safetensors.BF16: "BFloat16Storage",
	safetensors.F16:  "HalfStorage",
	safetensors.F64:  "DoubleStorage",
	safetensors.I64:  "LongStorage",
	safetensors.I32:  "IntStorage",
	safetensors.I16:  "ShortStorage",
	safetensors.I8:   "CharStorage",
	safetensors.U8:   "ByteStorage",
	safetensors.Bool: "BoolStorage",
}

// setItemsBatch is how many dict items Encode sets with one SETITEMS,
// as Python's pickler does.
const setItemsBatch = 1000

// recordAlign is the alignment of every record's data in the archive
// (torch.save pads to 64 bytes so that storages can be memory-mapped).
const recordAlign = 64

// Write saves sd to path atomically in the torch.save format, with the
// file's base name (without extension) as the archive name; see Encode.
func Write(path string, sd *StateDict) error {
	archive := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	return atomicfile.Write(path, func(w io.Writer) error { return Encode(w, archive, sd) })
}

// Encode writes sd as torch.save would: a zip archive named archive whose
// data.pkl is a protocol-2 pickle of an OrderedDict of
// _rebuild_tensor_v2 tensors in sd.Names order, each over a storage of its
// own (data/0, data/1, ...), plus version "3\n" and byteorder "little".
// Records are stored uncompressed with their data 64-byte aligned. Every
// name of sd.Names must be in sd.Tensors and the other way round, each
// tensor's data must match its shape, and its dtype must have a torch
// storage type.
func Encode(w io.Writer, archive string, sd *StateDict) error {
	if !validArchive(archive) {
		return fmt.Errorf("torch: archive name %q, want letters, digits, '_', '-' and '.'", archive)
	}
	if len(sd.Names) != len(sd.Tensors) {
		return fmt.Errorf("torch: %d names for %d tensors", len(sd.Names), len(sd.Tensors))
	}
	var p pickler
	p.proto(2)
	p.global("collections", "OrderedDict")
	p.op(opEmptyTuple)
	p.op(opReduce)
	p.op(opMark)
	for i, name := range sd.Names {
		t, ok := sd.Tensors[name]
		if !ok {
			return fmt.Errorf("torch: tensor %q is listed but missing", name)
		}
		cls, ok := storageClasses[t.DType]
		if !ok {
			return fmt.Errorf("torch: tensor %q has dtype %s, which has no torch storage type", name, t.DType)
		}
		n, err := safetensors.NumElements(t.Shape)
		if err != nil {
			return fmt.Errorf("torch: tensor %q: %w", name, err)
		}
		if n*t.DType.Size() != len(t.Data) {
			return fmt.Errorf("torch: tensor %q: shape %v of %s needs %d bytes, data has %d", name, t.Shape, t.DType, n*t.DType.Size(), len(t.Data))
		}
		if len(name) > MaxNameLen {
			return fmt.Errorf("torch: tensor name %s is longer than %d bytes", quote(name), MaxNameLen)
		}
		p.str(name)
		p.global("torch._utils", "_rebuild_tensor_v2")
		p.op(opMark)
		// The persistent id: ("storage", torch.<Type>Storage, key, "cpu", numel).
		p.op(opMark)
		p.str("storage")
		p.global("torch", cls)
		p.str(strconv.Itoa(i))
		p.str("cpu")
		p.int(n)
		p.op(opTuple)
		p.op(opBinPersID)
		p.int(0) // storage_offset
		p.ints(t.Shape)
		p.ints(strides(t.Shape))
		p.op(opNewFalse) // requires_grad
		p.global("collections", "OrderedDict")
		p.op(opEmptyTuple)
		p.op(opReduce) // backward_hooks: an empty OrderedDict
		p.op(opTuple)
		p.op(opReduce)
		if (i+1)%setItemsBatch == 0 && i+1 < len(sd.Names) {
			// Items in batches, as Python's pickler writes them: the
			// unpickler's stack stays short (see MaxPickleStack).
			p.op(opSetItems)
			p.op(opMark)
		}
	}
	p.op(opSetItems)
	p.op(opStop)

	cw := &countWriter{w: w}
	zw := zip.NewWriter(cw)
	prefix := archive + "/"
	if err := addRecord(zw, cw, prefix+"data.pkl", p.buf.Bytes()); err != nil {
		return err
	}
	if err := addRecord(zw, cw, prefix+"byteorder", []byte("little")); err != nil {
		return err
	}
	for i, name := range sd.Names {
		if err := addRecord(zw, cw, prefix+"data/"+strconv.Itoa(i), sd.Tensors[name].Data); err != nil {
			return err
		}
	}
	if err := addRecord(zw, cw, prefix+"version", []byte("3\n")); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("torch: %w", err)
	}
	return nil
}

func validArchive(s string) bool {
	if s == "" || s == "." || s == ".." || len(s) > 200 {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// strides returns the row-major strides of shape.
func strides(shape []int) []int {
	s := make([]int, len(shape))
	acc := 1
	for i := len(shape) - 1; i >= 0; i-- {
		s[i] = acc
		acc *= shape[i]
	}
	return s
}

// countWriter counts the bytes that reach w.
type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// addRecord writes one stored record whose data starts at a multiple of
// recordAlign, padding with an extra field (id "FB", as torch does).
func addRecord(zw *zip.Writer, cw *countWriter, name string, data []byte) error {
	if err := zw.Flush(); err != nil {
		return fmt.Errorf("torch: %w", err)
	}
	const localHeader = 30 // fixed part of a zip local file header
	start := cw.n + localHeader + int64(len(name)) + 4
	pad := int((recordAlign - start%recordAlign) % recordAlign)
	extra := make([]byte, 4+pad)
	copy(extra, "FB")
	binary.LittleEndian.PutUint16(extra[2:], uint16(pad))
	fh := &zip.FileHeader{
		Name:               name,
		Method:             zip.Store,
		CRC32:              crc32.ChecksumIEEE(data),
		CompressedSize64:   uint64(len(data)),
		UncompressedSize64: uint64(len(data)),
		Extra:              extra,
	}
	rw, err := zw.CreateRaw(fh)
	if err != nil {
		return fmt.Errorf("torch: record %q: %w", name, err)
	}
	if _, err := rw.Write(data); err != nil {
		return fmt.Errorf("torch: record %q: %w", name, err)
	}
	return nil
}

// Pickle opcodes the writer emits (Python's pickle module, protocol 2).
const (
	opProto      = 0x80
	opGlobal     = 'c'
	opEmptyTuple = ')'
	opTuple      = 't'
	opReduce     = 'R'
	opMark       = '('
	opBinUnicode = 'X'
	opBinInt1    = 'K'
	opBinInt2    = 'M'
	opBinInt     = 'J'
	opLong1      = 0x8a
	opBinPersID  = 'Q'
	opNewFalse   = 0x89
	opSetItems   = 'u'
	opStop       = '.'
)

// pickler writes a protocol-2 pickle. It uses no memo (every GLOBAL is
// written again): simpler, and as valid as Python's own output.
type pickler struct{ buf bytes.Buffer }

func (p *pickler) op(b byte) { p.buf.WriteByte(b) }

func (p *pickler) proto(v byte) { p.buf.Write([]byte{opProto, v}) }

func (p *pickler) global(module, name string) {
	p.op(opGlobal)
	p.buf.WriteString(module + "\n" + name + "\n")
}

// str writes a str (BINUNICODE: a 4-byte length, then UTF-8).
func (p *pickler) str(s string) {
	p.op(opBinUnicode)
	var n [4]byte
	binary.LittleEndian.PutUint32(n[:], uint32(len(s)))
	p.buf.Write(n[:])
	p.buf.WriteString(s)
}

// int writes a Python int in the shortest form Python's pickler uses.
func (p *pickler) int(v int) {
	switch {
	case v >= 0 && v < 1<<8:
		p.buf.Write([]byte{opBinInt1, byte(v)})
	case v >= 0 && v < 1<<16:
		p.op(opBinInt2)
		_ = binary.Write(&p.buf, binary.LittleEndian, uint16(v))
	case v >= -1<<31 && v < 1<<31:
		p.op(opBinInt)
		_ = binary.Write(&p.buf, binary.LittleEndian, int32(v))
	default:
		// LONG1: a length byte, then two's-complement little-endian bytes,
		// as few as keep the sign.
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], uint64(v))
		n := 8
		for n > 1 && (b[n-1] == 0 && b[n-2]&0x80 == 0 || b[n-1] == 0xff && b[n-2]&0x80 != 0) {
			n--
		}
		p.buf.Write([]byte{opLong1, byte(n)})
		p.buf.Write(b[:n])
	}
}

// ints writes a tuple of ints (MARK ... TUPLE; () for none).
func (p *pickler) ints(vs []int) {
	if len(vs) == 0 {
		p.op(opEmptyTuple)
		return
	}
	p.op(opMark)
	for _, v := range vs {
		p.int(v)
	}
	p.op(opTuple)
}
