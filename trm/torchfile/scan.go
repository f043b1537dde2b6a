package torchfile

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
)

// Allowed lists the classes a pickle may name with GLOBAL ("module name"):
// the OrderedDict of a state dict, the tensor-rebuild functions and the
// storage types. Any other class is refused before anything is unpickled.
var Allowed = []string{
	"collections OrderedDict",
	"torch._utils _rebuild_tensor_v2",
	"torch._utils _rebuild_parameter",
	"torch FloatStorage",
	"torch BFloat16Storage",
	"torch HalfStorage",
	"torch DoubleStorage",
	"torch LongStorage",
	"torch IntStorage",
	"torch ShortStorage",
	"torch CharStorage",
	"torch ByteStorage",
	"torch BoolStorage",
}

// opArg says how the argument of an opcode is laid out.
type opArg int

const (
	argNone   opArg = iota
	argFixed        // n bytes
	argLen1         // a 1-byte length, then that many bytes
	argLen4         // a 4-byte little-endian length, then that many bytes
	argFrame        // an 8-byte length: the frame that follows
	argGlobal       // two newline-terminated lines
)

type opInfo struct {
	name string
	arg  opArg
	n    int // argFixed
}

// allowedOps are the opcodes a state dict needs: plain data (protocols
// 2–4), the memo, GLOBAL (checked against Allowed), REDUCE, BUILD and
// BINPERSID. Everything else is refused.
var allowedOps = map[byte]opInfo{
	0x80: {"PROTO", argFixed, 1},
	'.':  {"STOP", argNone, 0},
	'(':  {"MARK", argNone, 0},
	'0':  {"POP", argNone, 0},
	'1':  {"POP_MARK", argNone, 0},
	'2':  {"DUP", argNone, 0},
	'N':  {"NONE", argNone, 0},
	0x88: {"NEWTRUE", argNone, 0},
	0x89: {"NEWFALSE", argNone, 0},
	'J':  {"BININT", argFixed, 4},
	'K':  {"BININT1", argFixed, 1},
	'M':  {"BININT2", argFixed, 2},
	0x8a: {"LONG1", argLen1, 0},
	'G':  {"BINFLOAT", argFixed, 8},
	'X':  {"BINUNICODE", argLen4, 0},
	0x8c: {"SHORT_BINUNICODE", argLen1, 0},
	')':  {"EMPTY_TUPLE", argNone, 0},
	't':  {"TUPLE", argNone, 0},
	0x85: {"TUPLE1", argNone, 0},
	0x86: {"TUPLE2", argNone, 0},
	0x87: {"TUPLE3", argNone, 0},
	']':  {"EMPTY_LIST", argNone, 0},
	'a':  {"APPEND", argNone, 0},
	'e':  {"APPENDS", argNone, 0},
	'l':  {"LIST", argNone, 0},
	'}':  {"EMPTY_DICT", argNone, 0},
	'd':  {"DICT", argNone, 0},
	's':  {"SETITEM", argNone, 0},
	'u':  {"SETITEMS", argNone, 0},
	'h':  {"BINGET", argFixed, 1},
	'j':  {"LONG_BINGET", argFixed, 4},
	'q':  {"BINPUT", argFixed, 1},
	'r':  {"LONG_BINPUT", argFixed, 4},
	0x94: {"MEMOIZE", argNone, 0},
	0x95: {"FRAME", argFrame, 0},
	'c':  {"GLOBAL", argGlobal, 0},
	'R':  {"REDUCE", argNone, 0},
	'b':  {"BUILD", argNone, 0},
	'Q':  {"BINPERSID", argNone, 0},
}

// refusedOps names the opcodes that exist but are refused, so that the
// error says which one was found.
var refusedOps = map[byte]string{
	'i': "INST", 'o': "OBJ", 0x81: "NEWOBJ", 0x92: "NEWOBJ_EX", 0x93: "STACK_GLOBAL",
	0x82: "EXT1", 0x83: "EXT2", 0x84: "EXT4", 'P': "PERSID", 'I': "INT", 'L': "LONG",
	'S': "STRING", 'V': "UNICODE", 'F': "FLOAT", 'T': "BINSTRING", 'U': "SHORT_BINSTRING",
	0x8b: "LONG4", 'B': "BINBYTES", 'C': "SHORT_BINBYTES", 0x8d: "BINUNICODE8",
	0x8e: "BINBYTES8", 0x8f: "EMPTY_SET", 0x90: "ADDITEMS", 0x91: "FROZENSET",
	0x96: "BYTEARRAY8", 0x97: "NEXT_BUFFER", 0x98: "READONLY_BUFFER", 'g': "GET", 'p': "PUT",
}

// maxProto is the highest pickle protocol accepted (torch.save writes 2).
const maxProto = 4

// scanPickle walks every opcode of p without building anything and
// returns an error naming the offset and the opcode or class that is not
// allowed, or an argument that reaches past the end. It also requires
// the pickle to end with its STOP.
func scanPickle(p []byte) error {
	i := 0
	for i < len(p) {
		at := i
		op := p[i]
		i++
		info, ok := allowedOps[op]
		if !ok {
			if name, known := refusedOps[op]; known {
				return fmt.Errorf("pickle opcode %s (0x%02x) at offset %d is not allowed in a state dict", name, op, at)
			}
			return fmt.Errorf("unknown pickle opcode 0x%02x at offset %d", op, at)
		}
		need := func(n int) error {
			if n < 0 || n > len(p)-i {
				return fmt.Errorf("pickle opcode %s at offset %d: argument of %d bytes runs past the end (%d left)", info.name, at, n, len(p)-i)
			}
			return nil
		}
		switch info.arg {
		case argFixed:
			if err := need(info.n); err != nil {
				return err
			}
			if op == 0x80 && p[i] > maxProto {
				return fmt.Errorf("pickle protocol %d at offset %d, want ≤ %d (torch.save writes 2)", p[i], at, maxProto)
			}
			i += info.n
		case argLen1:
			if err := need(1); err != nil {
				return err
			}
			n := int(p[i])
			i++
			if op == 0x8a && n > 8 {
				return fmt.Errorf("pickle opcode LONG1 at offset %d: %d-byte integer, want at most 8", at, n)
			}
			if err := need(n); err != nil {
				return err
			}
			i += n
		case argLen4, argFrame:
			w := 4
			if info.arg == argFrame {
				w = 8
			}
			if err := need(w); err != nil {
				return err
			}
			var n uint64
			if w == 4 {
				n = uint64(binary.LittleEndian.Uint32(p[i:]))
			} else {
				n = binary.LittleEndian.Uint64(p[i:])
			}
			i += w
			if n > uint64(len(p)-i) {
				return fmt.Errorf("pickle opcode %s at offset %d: length %d runs past the end (%d bytes left)", info.name, at, n, len(p)-i)
			}
			if info.arg == argLen4 {
				i += int(n)
			} // a frame's content is scanned as opcodes
		case argGlobal:
			var lines [2]string
			for k := range lines {
				nl := bytes.IndexByte(p[i:], '\n')
				if nl < 0 {
					return fmt.Errorf("pickle opcode GLOBAL at offset %d: no end of line", at)
				}
				lines[k] = string(p[i : i+nl])
				i += nl + 1
			}
			class := lines[0] + " " + lines[1]
			if !slices.Contains(Allowed, class) {
				return fmt.Errorf("pickle class %s at offset %d is not allowed (allowed: %s)",
					strings.Replace(class, " ", ".", 1), at, allowedList())
			}
		}
		if op == '.' {
			if i != len(p) {
				return fmt.Errorf("pickle has %d bytes after its STOP at offset %d", len(p)-i, at)
			}
			return nil
		}
	}
	return fmt.Errorf("pickle ends after %d bytes without a STOP", len(p))
}

func allowedList() string {
	names := make([]string, len(Allowed))
	for i, c := range Allowed {
		names[i] = strings.Replace(c, " ", ".", 1)
	}
	return strings.Join(names, ", ")
}
