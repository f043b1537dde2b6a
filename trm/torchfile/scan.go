package torchfile

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
	"strconv"
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

// Limits on the work of unpickling data.pkl, checked by scanPickle before
// anything is unpickled, so that no pickle of at most MaxPickleSize bytes
// can make Decode allocate more than a few tens of MB or run for more than
// a time proportional to its length. A state dict needs far less: a few
// dozen opcodes and a few KB per tensor, containers nested a few levels
// deep, at most about two thousand values on the stack (torch's pickler
// writes dict items in batches of 1000) and a dozen memo entries per
// tensor.
const (
	// MaxPickleStack bounds the values on the unpickler's stack, those
	// under every open MARK included.
	MaxPickleStack = 1 << 16
	// MaxPickleMarks bounds the MARKs open at once (how deeply the
	// pickle nests tuples, lists and dicts).
	MaxPickleMarks = 256
	// MaxPickleMemo bounds the entries of the unpickler's memo.
	MaxPickleMemo = 1 << 18
	// MaxPickleWork bounds an estimate, made opcode by opcode, of the
	// bytes unpickling allocates plus those it hashes (dict keys). A
	// state dict saved by torch.save costs about 11 KB per tensor by
	// this estimate (4 KB measured), so some 6000 tensors fit; 64 MiB of
	// MARKs would allocate 16 GiB.
	MaxPickleWork = 64 << 20
)

// kind is what scanPickle knows of a value on the unpickler's stack.
type kind uint8

const (
	kNone kind = iota
	kBool
	kInt
	kFloat
	kString
	kTuple
	kList
	kDict        // a plain dict: EMPTY_DICT, DICT
	kOrderedDict // what collections.OrderedDict() returns
	kClass       // a class or function named by GLOBAL
	kTensor      // what _rebuild_tensor_v2 or _rebuild_parameter return
	kStorage     // what BINPERSID returns
)

var kindNames = [...]string{
	kNone: "None", kBool: "a bool", kInt: "an int", kFloat: "a float", kString: "a string",
	kTuple: "a tuple", kList: "a list", kDict: "a dict", kOrderedDict: "an OrderedDict",
	kClass: "a class", kTensor: "a tensor", kStorage: "a storage",
}

// value stands for a value of the unpickler: its kind and n, which is a
// string's length in bytes, a tuple's number of items, a dict's index in
// machine.dicts, or a class's index in Allowed (all less than
// MaxPickleSize).
type value struct {
	kind kind
	n    int32
}

func (v value) String() string {
	switch v.kind {
	case kString:
		return fmt.Sprintf("a string of %d bytes", v.n)
	case kTuple:
		return fmt.Sprintf("a tuple of %d items", v.n)
	case kClass:
		return strings.Replace(Allowed[v.n], " ", ".", 1)
	}
	return kindNames[v.kind]
}

// dictInfo is what scanPickle knows of a dict or OrderedDict, shared by
// every reference to it (DUP, the memo).
type dictInfo struct {
	nonString bool  // some key is not a string
	keyBytes  int64 // the bytes of its string keys
	items     int64
}

// Estimates of what gopickle (and then stateDict) allocates per opcode,
// in bytes, for MaxPickleWork: a slot of the stack is an interface (16
// bytes) in a slice that grows by a quarter at a time once large (so the
// slices it had add up to about 5 times the last), a MARK starts a new
// stack slice of 16 slots, a memo or OrderedDict entry is a map entry plus
// the map's growth. TestPickleWorkBound checks them against the
// allocations measured.
const (
	workBase     = 32 << 10 // the unpickler and its memo map, allocated up front
	workSlot     = 96       // a slot past the most the stack above the last MARK had
	workSegment  = 16       // the slots gopickle's stack has from the start, and after each MARK
	workMark     = 320
	workScalar   = 24 // a fixed-size argument read into a new buffer, boxed
	workFrame    = 96 // plus its length (copied)
	workString   = 96 // plus 2.25 times its length (the buffer read, the string)
	workGlobal   = 96 // plus twice its length (the lines read, the strings)
	workTuple    = 48 // plus a slot per item when the tuple gets a new slice
	workList     = 112
	workDict     = 192
	workOrdered  = 768 // an OrderedDict: a map, a linked list, another map
	workListItem = 96  // an item appended to a list
	workDictItem = 448 // an item of a dict: its entry, then a state dict's
	workEntry    = 768 // an OrderedDict entry: a map entry and a list element, then a state dict's
	workMemo     = 128
	workPersID   = 128
	workTensor   = 768 // the tensorRef, its shape and stride
	workBuildKey = 160 // an attribute BUILD sets
)

// dictChunk is how many dictInfos machine allocates at a time.
const dictChunk = 1024

// machine follows the unpickler's stack, marks and memo through the
// opcodes with a value for each Go value gopickle would build.
type machine struct {
	stack []value
	marks []int // the stack's length at each open MARK
	// most is, for the stack above each open MARK and the one under
	// them all (most[0]), the most values it held: gopickle keeps a slice
	// for each, which grows only past that.
	most  []int
	memo  map[uint32]value
	dicts [][]dictInfo // in chunks of dictChunk, never copied as they grow
	ndict int
	work  int64
	op    string // the opcode at offset at, for errors
	at    int
}

func (m *machine) errf(format string, args ...any) error {
	return fmt.Errorf("pickle opcode %s at offset %d: "+format, append([]any{m.op, m.at}, args...)...)
}

func (m *machine) charge(n int64) error {
	m.work += n
	if m.work > MaxPickleWork {
		return m.errf("unpickling would allocate or hash more than %d MiB (a state dict needs about 11 KB per tensor)", MaxPickleWork>>20)
	}
	return nil
}

// base is where the values above the last open MARK start.
func (m *machine) base() int {
	if len(m.marks) == 0 {
		return 0
	}
	return m.marks[len(m.marks)-1]
}

func (m *machine) push(v value) error {
	if len(m.stack) >= MaxPickleStack {
		return m.errf("more than %d values on the stack (a state dict needs a few thousand)", MaxPickleStack)
	}
	m.stack = append(m.stack, v)
	if seg := &m.most[len(m.most)-1]; len(m.stack)-m.base() > *seg {
		*seg = len(m.stack) - m.base()
		return m.charge(workSlot)
	}
	return nil
}

// last is the top of the stack; like gopickle, it does not look under
// the last MARK.
func (m *machine) last() (value, error) {
	if len(m.stack) == m.base() {
		return value{}, m.errf("the stack is empty")
	}
	return m.stack[len(m.stack)-1], nil
}

func (m *machine) pop() (value, error) {
	v, err := m.last()
	if err == nil {
		m.stack = m.stack[:len(m.stack)-1]
	}
	return v, err
}

// popMark removes the values above the last MARK and the MARK, and
// returns them; they are valid until the next push.
func (m *machine) popMark() ([]value, error) {
	if len(m.marks) == 0 {
		return nil, m.errf("no MARK is open")
	}
	b := m.base()
	items := m.stack[b:]
	m.stack = m.stack[:b]
	m.marks = m.marks[:len(m.marks)-1]
	m.most = m.most[:len(m.most)-1]
	return items, nil
}

func (m *machine) newDict(k kind) value {
	if m.ndict%dictChunk == 0 {
		m.dicts = append(m.dicts, make([]dictInfo, dictChunk))
	}
	m.ndict++
	return value{k, int32(m.ndict - 1)}
}

func (m *machine) dict(d value) *dictInfo {
	return &m.dicts[d.n/dictChunk][d.n%dictChunk]
}

// setItems records items, key-value pairs, into the dict d.
func (m *machine) setItems(d value, items []value) error {
	if d.kind != kDict && d.kind != kOrderedDict {
		return m.errf("sets items of %s, want a dict", d)
	}
	if len(items)%2 != 0 {
		return m.errf("%d values, want key-value pairs", len(items))
	}
	info := m.dict(d)
	for i := 0; i < len(items); i += 2 {
		key := items[i]
		w := int64(workDictItem)
		if d.kind == kOrderedDict {
			w = workEntry
		}
		if key.kind == kString {
			info.keyBytes += int64(key.n)
			if d.kind == kOrderedDict {
				w += 2 * int64(key.n) // hashed and compared in its map
			}
		} else {
			info.nonString = true
		}
		info.items++
		if err := m.charge(w); err != nil {
			return err
		}
	}
	return nil
}

func (m *machine) memoize(key uint32) error {
	v, err := m.last()
	if err != nil {
		return err
	}
	if _, ok := m.memo[key]; !ok {
		if len(m.memo) >= MaxPickleMemo {
			return m.errf("more than %d memo entries (a state dict needs about a dozen per tensor)", MaxPickleMemo)
		}
		if err := m.charge(workMemo); err != nil {
			return err
		}
	}
	m.memo[key] = v
	return nil
}

// reduce checks REDUCE: a call of an allowed class with a tuple of
// arguments, which gopickle would otherwise print whole in its error.
func (m *machine) reduce() error {
	args, err := m.pop()
	if err != nil {
		return err
	}
	f, err := m.pop()
	if err != nil {
		return err
	}
	if args.kind != kTuple {
		return m.errf("calls %s with %s, want a tuple of arguments", f, args)
	}
	if f.kind != kClass {
		return m.errf("calls %s, want a class named by GLOBAL", f)
	}
	switch Allowed[f.n] {
	case "collections OrderedDict":
		if args.n != 0 {
			return m.errf("calls collections.OrderedDict with %d arguments, want none", args.n)
		}
		if err := m.charge(workOrdered); err != nil {
			return err
		}
		return m.push(m.newDict(kOrderedDict))
	case "torch._utils _rebuild_tensor_v2", "torch._utils _rebuild_parameter":
		if err := m.charge(workTensor); err != nil {
			return err
		}
		return m.push(value{kind: kTensor})
	}
	return m.errf("calls %s, which is not a function", f)
}

// build checks BUILD: only an OrderedDict may get attributes (its
// _metadata), from a dict with string keys; gopickle would print any
// other instance or key whole in its error.
func (m *machine) build() error {
	state, err := m.pop()
	if err != nil {
		return err
	}
	inst, err := m.last()
	if err != nil {
		return err
	}
	if inst.kind != kOrderedDict || state.kind != kDict {
		return m.errf("sets the state of %s from %s, want an OrderedDict and a dict of attributes", inst, state)
	}
	info := m.dict(state)
	if info.nonString {
		return m.errf("sets attributes named by values other than strings")
	}
	return m.charge(info.items*workBuildKey + 2*info.keyBytes)
}

// scanPickle walks every opcode of p without building anything and
// returns an error naming the offset and the opcode or class that is not
// allowed, an argument that reaches past the end, or a limit (see
// MaxPickleStack) passed. It follows the stack, the marks and the memo as
// gopickle will, with a kind for each value, so that gopickle only ever
// sees calls of the allowed classes with a tuple of arguments, and
// BUILD only on an OrderedDict: its errors for anything else print the
// value whole. It also requires the pickle to end with its STOP.
func scanPickle(p []byte) error {
	_, err := scan(p)
	return err
}

// scan is scanPickle; it also returns the estimate of the work
// unpickling p takes (see MaxPickleWork).
func scan(p []byte) (work int64, err error) {
	m := &machine{memo: map[uint32]value{}, most: []int{workSegment}, work: workBase}
	i := 0
	for i < len(p) {
		at := i
		op := p[i]
		i++
		info, ok := allowedOps[op]
		if !ok {
			if name, known := refusedOps[op]; known {
				return 0, fmt.Errorf("pickle opcode %s (0x%02x) at offset %d is not allowed in a state dict", name, op, at)
			}
			return 0, fmt.Errorf("unknown pickle opcode 0x%02x at offset %d", op, at)
		}
		m.op, m.at = info.name, at
		need := func(n int) error {
			if n < 0 || n > len(p)-i {
				return fmt.Errorf("pickle opcode %s at offset %d: argument of %d bytes runs past the end (%d left)", info.name, at, n, len(p)-i)
			}
			return nil
		}
		var arg []byte // the argument: its bytes, a string's content
		switch info.arg {
		case argFixed:
			if err := need(info.n); err != nil {
				return 0, err
			}
			if op == 0x80 && p[i] > maxProto {
				return 0, fmt.Errorf("pickle protocol %d at offset %d, want ≤ %d (torch.save writes 2)", p[i], at, maxProto)
			}
			arg = p[i : i+info.n]
			i += info.n
		case argLen1:
			if err := need(1); err != nil {
				return 0, err
			}
			n := int(p[i])
			i++
			if op == 0x8a && n > 8 {
				return 0, fmt.Errorf("pickle opcode LONG1 at offset %d: %d-byte integer, want at most 8", at, n)
			}
			if err := need(n); err != nil {
				return 0, err
			}
			arg = p[i : i+n]
			i += n
		case argLen4, argFrame:
			w := 4
			if info.arg == argFrame {
				w = 8
			}
			if err := need(w); err != nil {
				return 0, err
			}
			var n uint64
			if w == 4 {
				n = uint64(binary.LittleEndian.Uint32(p[i:]))
			} else {
				n = binary.LittleEndian.Uint64(p[i:])
			}
			i += w
			if n > uint64(len(p)-i) {
				return 0, fmt.Errorf("pickle opcode %s at offset %d: length %d runs past the end (%d bytes left)", info.name, at, n, len(p)-i)
			}
			if info.arg == argLen4 {
				arg = p[i : i+int(n)]
				i += int(n)
			} else {
				// A frame's content is scanned as opcodes; gopickle
				// copies it first.
				if err := m.charge(workFrame + int64(n)); err != nil {
					return 0, err
				}
			}
		case argGlobal:
			var lines [2]string
			for k := range lines {
				nl := bytes.IndexByte(p[i:], '\n')
				if nl < 0 {
					return 0, fmt.Errorf("pickle opcode GLOBAL at offset %d: no end of line", at)
				}
				lines[k] = string(p[i : i+nl])
				i += nl + 1
			}
			class := lines[0] + " " + lines[1]
			k := slices.Index(Allowed, class)
			if k < 0 {
				return 0, fmt.Errorf("pickle class %s at offset %d is not allowed (allowed: %s)",
					className(lines[0], lines[1]), at, allowedList())
			}
			if err := m.charge(workGlobal + 2*int64(len(class))); err != nil {
				return 0, err
			}
			if err := m.push(value{kClass, int32(k)}); err != nil {
				return 0, err
			}
		}
		if err := m.step(op, arg); err != nil {
			return 0, err
		}
		if op == '.' {
			if i != len(p) {
				return 0, fmt.Errorf("pickle has %d bytes after its STOP at offset %d", len(p)-i, at)
			}
			return m.work, nil
		}
	}
	return 0, fmt.Errorf("pickle ends after %d bytes without a STOP", len(p))
}

// step applies the opcode op, whose argument is arg, to the machine (GLOBAL
// and FRAME are done by scanPickle).
func (m *machine) step(op byte, arg []byte) error {
	scalar := func(k kind) error {
		if err := m.charge(workScalar); err != nil {
			return err
		}
		return m.push(value{kind: k})
	}
	switch op {
	case 0x80, 0x95, 'c': // PROTO, FRAME, GLOBAL
	case '.': // STOP
		_, err := m.pop()
		return err
	case '(': // MARK
		if len(m.marks) >= MaxPickleMarks {
			return m.errf("more than %d MARKs open at once (a state dict nests a few)", MaxPickleMarks)
		}
		m.marks = append(m.marks, len(m.stack))
		m.most = append(m.most, workSegment)
		return m.charge(workMark)
	case '0': // POP: with nothing above the last MARK, gopickle pops the MARK
		if len(m.stack) == m.base() {
			_, err := m.popMark()
			return err
		}
		m.stack = m.stack[:len(m.stack)-1]
	case '1': // POP_MARK
		_, err := m.popMark()
		return err
	case '2': // DUP
		v, err := m.last()
		if err != nil {
			return err
		}
		return m.push(v)
	case 'N':
		return m.push(value{kind: kNone})
	case 0x88, 0x89: // NEWTRUE, NEWFALSE
		return m.push(value{kind: kBool})
	case 'J', 'K', 'M', 0x8a: // BININT, BININT1, BININT2, LONG1
		return scalar(kInt)
	case 'G': // BINFLOAT
		return scalar(kFloat)
	case 'X', 0x8c: // BINUNICODE, SHORT_BINUNICODE
		if err := m.charge(workString + int64(2*len(arg)+len(arg)/4)); err != nil {
			return err
		}
		return m.push(value{kString, int32(len(arg))})
	case ')': // EMPTY_TUPLE
		if err := m.charge(workTuple); err != nil {
			return err
		}
		return m.push(value{kind: kTuple})
	case 't': // TUPLE
		items, err := m.popMark()
		if err != nil {
			return err
		}
		if err := m.charge(workTuple); err != nil {
			return err
		}
		return m.push(value{kTuple, int32(len(items))})
	case 0x85, 0x86, 0x87: // TUPLE1, TUPLE2, TUPLE3
		n := int(op-0x85) + 1
		for range n {
			if _, err := m.pop(); err != nil {
				return err
			}
		}
		if err := m.charge(workTuple + int64(n)*16); err != nil { // a new slice
			return err
		}
		return m.push(value{kTuple, int32(n)})
	case ']': // EMPTY_LIST
		if err := m.charge(workList); err != nil {
			return err
		}
		return m.push(value{kind: kList})
	case 'l': // LIST
		if _, err := m.popMark(); err != nil {
			return err
		}
		if err := m.charge(workTuple); err != nil {
			return err
		}
		return m.push(value{kind: kList})
	case 'a', 'e': // APPEND, APPENDS
		n := 1
		if op == 'e' {
			items, err := m.popMark()
			if err != nil {
				return err
			}
			n = len(items)
		} else if _, err := m.pop(); err != nil {
			return err
		}
		l, err := m.pop()
		if err != nil {
			return err
		}
		if l.kind != kList {
			return m.errf("appends to %s, want a list", l)
		}
		if err := m.charge(int64(n) * workListItem); err != nil {
			return err
		}
		return m.push(l)
	case '}': // EMPTY_DICT
		if err := m.charge(workDict); err != nil {
			return err
		}
		return m.push(m.newDict(kDict))
	case 'd': // DICT
		items, err := m.popMark()
		if err != nil {
			return err
		}
		d := m.newDict(kDict)
		if err := m.charge(workDict); err != nil {
			return err
		}
		if err := m.setItems(d, items); err != nil {
			return err
		}
		return m.push(d)
	case 's': // SETITEM
		v, err := m.pop()
		if err != nil {
			return err
		}
		k, err := m.pop()
		if err != nil {
			return err
		}
		d, err := m.last()
		if err != nil {
			return err
		}
		return m.setItems(d, []value{k, v})
	case 'u': // SETITEMS
		items, err := m.popMark()
		if err != nil {
			return err
		}
		if len(items)%2 != 0 {
			return m.errf("%d values, want key-value pairs", len(items))
		}
		d, err := m.pop()
		if err != nil {
			return err
		}
		if err := m.setItems(d, items); err != nil {
			return err
		}
		return m.push(d)
	case 'h', 'j': // BINGET, LONG_BINGET
		v, ok := m.memo[memoKey(arg)]
		if !ok {
			return m.errf("memo entry %d is not set", memoKey(arg))
		}
		return m.push(v)
	case 'q', 'r': // BINPUT, LONG_BINPUT
		return m.memoize(memoKey(arg))
	case 0x94: // MEMOIZE
		return m.memoize(uint32(len(m.memo)))
	case 'R': // REDUCE
		return m.reduce()
	case 'b': // BUILD
		return m.build()
	case 'Q': // BINPERSID
		if _, err := m.pop(); err != nil {
			return err
		}
		if err := m.charge(workPersID); err != nil {
			return err
		}
		return m.push(value{kind: kStorage})
	default:
		return m.errf("not handled") // allowedOps and this switch disagree
	}
	return nil
}

// memoKey reads the 1- or 4-byte memo index of BINGET, BINPUT and their
// LONG_ forms.
func memoKey(arg []byte) uint32 {
	if len(arg) == 1 {
		return uint32(arg[0])
	}
	return binary.LittleEndian.Uint32(arg)
}

// className writes module.name for an error: as is when short and
// printable, else quoted and cut (the lines come from the file).
func className(module, name string) string {
	c := module + "." + name
	if len(c) <= maxQuoted && strconv.CanBackquote(c) {
		return c
	}
	return quote(c)
}

func allowedList() string {
	names := make([]string, len(Allowed))
	for i, c := range Allowed {
		names[i] = strings.Replace(c, " ", ".", 1)
	}
	return strings.Join(names, ", ")
}
