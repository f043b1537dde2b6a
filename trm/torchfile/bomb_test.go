package torchfile

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// allocated returns the bytes f allocates on the heap (the growth of
// runtime.MemStats.TotalAlloc, which no collection lowers: an upper
// bound of the peak f adds).
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// bombBudget is what Decode may allocate to refuse any bomb below.
const bombBudget = 100 << 20

// Opcodes the bombs use beside those of write.go.
const (
	opDup      = '2'
	opNone     = 'N'
	opPopMark  = '1'
	opPop      = '0'
	opList     = 'l'
	opEmptyLst = ']'
	opAppend   = 'a'
	opEmptyDct = '}'
	opSetItem  = 's'
	opBuild    = 'b'
	opBinGet   = 'h'
	opBinPut   = 'q'
	opLongPut  = 'r'
	opMemoize  = 0x94
	opTuple1   = 0x85
)

// archive wraps a pickle in a torch.save archive with one storage.
func archive(t testing.TB, pkl []byte) []byte {
	return zipOf(t, [2]string{"a/data.pkl", string(pkl)}, [2]string{"a/data/0", "\x00\x00\x80\x3f"}, [2]string{"a/version", "3\n"})
}

// repeat returns the pickle head, then body n times, then tail.
func repeat(head string, body string, n int, tail string) []byte {
	return slices.Concat([]byte(head), bytes.Repeat([]byte(body), n), []byte(tail))
}

// strOp is the BINUNICODE of a string of n bytes.
func strOp(n int) string {
	var h [5]byte
	h[0] = opBinUnicode
	binary.LittleEndian.PutUint32(h[1:], uint32(n))
	return string(h[:]) + strings.Repeat("a", n)
}

// bigList pushes a list of n references to one string of size bytes, by
// the memo (3 bytes a reference): what gopickle would print whole if an
// error message formatted it.
func bigList(n, size int) string {
	return strOp(size) + string([]byte{opBinPut, 0, opPop, opEmptyLst}) + string(repeat("", string([]byte{opBinGet, 0, opAppend}), n, ""))
}

// bombSize is the size of the largest bombs, just under MaxPickleSize.
const bombSize = 63 << 20

// TestDecodeRefusesPickleBombs: pickles of allowed opcodes that make an
// unchecked unpickler allocate gigabytes (issue 29: a 2 MiB pickle of DUPs
// into BINPERSID reached 14 GB, 63 MiB of MARKs 10.5 GB, DUP and MEMOIZE
// chains 4 GB) or hash for hours are refused before unpickling, with an
// error of one short line naming the limit, within 100 MB.
func TestDecodeRefusesPickleBombs(t *testing.T) {
	orderedDict := "\x80\x02ccollections\nOrderedDict\n)R"
	cases := []struct {
		name string
		pkl  func() []byte
		want string
	}{
		{"1M DUPs of a 1 MiB string into BINPERSID", func() []byte {
			return repeat("\x80\x02("+strOp(1<<20), string([]byte{opDup}), 1<<20, string([]byte{opList, opBinPersID, opStop}))
		}, "DUP at offset 1114119: more than 65536 values on the stack"},
		{"63 MiB of MARKs", func() []byte { return repeat("\x80\x02", "(", bombSize, ".") }, "MARK at offset 258: more than 256 MARKs open"},
		{"63 MiB of DUPs", func() []byte { return repeat("\x80\x02N", "2", bombSize, ".") }, "more than 65536 values on the stack"},
		{"63 MiB of MEMOIZEs", func() []byte { return repeat("\x80\x04N", "\x94", bombSize, ".") }, "more than 262144 memo entries"},
		{"63 MiB of LONG_BINPUTs", func() []byte {
			var b bytes.Buffer
			b.WriteString("\x80\x02N")
			for i := 0; b.Len() < bombSize; i++ {
				b.Write([]byte{opLongPut, byte(i), byte(i >> 8), byte(i >> 16), byte(i >> 24)})
			}
			b.WriteByte(opStop)
			return b.Bytes()
		}, "more than 262144 memo entries"},
		{"63 MiB list into BINPERSID", func() []byte {
			return repeat("\x80\x02]", "Na", bombSize/2, "Q.")
		}, "APPEND at offset"},
		{"63 MiB of MARK, POP_MARK", func() []byte { return repeat("\x80\x02", "(1", bombSize/2, "N.") }, "more than 64 MiB"},
		{"63 MiB of empty dicts", func() []byte { return repeat("\x80\x02", "}0", bombSize/2, "N.") }, "more than 64 MiB"},
		{"one 1 MiB key set again and again into an OrderedDict", func() []byte {
			return repeat(orderedDict+strOp(1<<20)+"q\x000", "h\x00Ns", 1<<20, ".")
		}, "more than 64 MiB"},
		{"REDUCE of a big list", func() []byte {
			return []byte("\x80\x02" + bigList(4096, 64<<10) + ")R.")
		}, "REDUCE at offset 77836: calls a list, want a class named by GLOBAL"},
		{"OrderedDict called with 4096 strings of 64 KiB", func() []byte {
			return repeat("\x80\x02ccollections\nOrderedDict\n"+strOp(64<<10)+"q\x000(", "h\x00", 4096, "tR.")
		}, "calls collections.OrderedDict with 4096 arguments, want none"},
		{"BUILD of a big list", func() []byte {
			return []byte("\x80\x02" + bigList(4096, 64<<10) + "}b.")
		}, "sets the state of a list from a dict, want an OrderedDict and a dict of attributes"},
		{"BUILD with a big list as attribute name", func() []byte {
			return []byte("\x80\x02" + orderedDict + "}" + bigList(4096, 64<<10) + "Nsb.")
		}, "sets attributes named by values other than strings"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			data := archive(t, tc.pkl())
			var err error
			n := allocated(func() { _, err = Decode(data, "bomb") })
			require.Error(t, err)
			msg := err.Error()
			require.Less(t, len(msg), 300, "error of %d bytes", len(msg))
			require.NotContains(t, msg, "\n")
			require.Contains(t, msg, `torch file "bomb": data.pkl: pickle opcode`)
			require.Contains(t, msg, tc.want)
			require.Less(t, n, uint64(bombBudget), "Decode allocated %d MB", n>>20)
			t.Logf("%d KB allocated, %d-byte pickle: %s", n>>10, len(data), msg)
		})
	}
}

// TestDecodeDescribesValues: values of the wrong kind that pass the scan
// reach the checks of persistent ids, tensor rebuilds and the state dict,
// whose errors describe them ("a list of 4096 items", a string cut after
// 64 bytes) instead of printing them whole: formatted, each of these
// would take 256 MiB or more.
func TestDecodeDescribesValues(t *testing.T) {
	list := bigList(4096, 64<<10)
	rebuild := "ctorch._utils\n_rebuild_tensor_v2\n("
	storage := "(X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x000X\x03\x00\x00\x00cpuK\x01tQ"
	hooks := "ccollections\nOrderedDict\n)R"
	state := func(key, value string) []byte {
		return []byte("\x80\x02ccollections\nOrderedDict\n)R(" + key + value + "u.")
	}
	tensor := func(storage, offset, size, stride string) string {
		return rebuild + storage + offset + size + stride + "\x89" + hooks + "tR"
	}
	cases := []struct {
		name string
		pkl  []byte
		want string
	}{
		{"persistent id a big list", []byte("\x80\x02" + list + "Q."), "persistent id a list of 4096 items, want a tuple"},
		{"storage key a big string", state("X\x01\x00\x00\x00w", tensor("(X\x07\x00\x00\x00storagectorch\nFloatStorage\n"+strOp(1<<20)+"X\x03\x00\x00\x00cpuK\x01tQ", "K\x00", "K\x01\x85", "K\x01\x85")),
			`storage key "` + strings.Repeat("a", 64) + `"… (a string of 1048576 bytes), want a short name`},
		{"storage a big list", state("X\x01\x00\x00\x00w", tensor(list, "K\x00", "K\x01\x85", "K\x01\x85")),
			"_rebuild_tensor_v2: storage a list of 4096 items, want a persistent storage"},
		{"offset a big list", state("X\x01\x00\x00\x00w", tensor(storage, list, "K\x01\x85", "K\x01\x85")),
			"storage offset a list of 4096 items, want a whole number"},
		{"size holding a big string", state("X\x01\x00\x00\x00w", tensor(storage, "K\x00", strOp(1<<20)+"\x85", "K\x01\x85")),
			`size ("` + strings.Repeat("a", 64) + `"… (a string of 1048576 bytes),): entry 0 is not a whole number`},
		{"key a big list", state(list, "N"), "state dict key a list of 4096 items is not a string"},
		{"key a 1 MiB string", state(strOp(1<<20), "N"), `state dict key "` + strings.Repeat("a", 64) + `"… (a string of 1048576 bytes) is longer than 1024 bytes`},
		{"state dict a big list", []byte("\x80\x02" + list + "."), "data.pkl holds a list of 4096 items, want a state dict"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			data := archive(t, tc.pkl)
			require.NoError(t, scanPickle(tc.pkl), "the scan lets it through to the checks")
			var err error
			n := allocated(func() { _, err = Decode(data, "x") })
			require.Error(t, err)
			msg := err.Error()
			require.Less(t, len(msg), 400, "error of %d bytes", len(msg))
			require.NotContains(t, msg, "\n")
			require.Contains(t, msg, tc.want)
			require.Less(t, n, uint64(bombBudget), "Decode allocated %d MB", n>>20)
		})
	}
}

func TestDescribe(t *testing.T) {
	p := func(ops string) any {
		t.Helper()
		v, err := unpickle([]byte("\x80\x02" + ops + "."))
		require.NoError(t, err)
		return v
	}
	for _, tc := range []struct {
		v    any
		want string
	}{
		{nil, "None"},
		{true, "True"},
		{p("K\x07"), "7"},
		{p("\x8a\x08\x00\x00\x00\x00\x00\x00\x00\x80"), "-9223372036854775808"},
		{p("G\x3f\xf8\x00\x00\x00\x00\x00\x00"), "1.5"},
		{"cpu", `"cpu"`},
		{strings.Repeat("é", 40), `"` + strings.Repeat("é", 32) + `"… (a string of 80 bytes)`},
		{p("K\x02K\x03\x86"), "(2, 3)"},
		{p("K\x02\x85"), "(2,)"},
		{p("(K\x01K\x02\x86K\x03t"), "(a tuple of 2 items, 3)"},
		{p(string(repeat("(", "N", 17, "t"))), "a tuple of 17 items"},
		{p("]K\x01a"), "a list of 1 items"},
		{p("}"), "a dict of 0 items"},
		{p("ccollections\nOrderedDict\n)R"), "an OrderedDict of 0 items"},
		{storageClass{"HalfStorage"}, "the class torch.HalfStorage"},
		{rebuildTensor{}, "the function torch._utils._rebuild_tensor_v2"},
		{&storageRef{key: "3"}, "a storage (data/3)"},
		{struct{}{}, "a value of type struct {}"},
	} {
		require.Equal(t, tc.want, describe(tc.v))
	}
}

// TestPickleWorkBound: the scan's estimate of the work of unpickling
// bounds what unpickling allocates, for the real pickles and for each
// opcode repeated up to where the limits stop it.
func TestPickleWorkBound(t *testing.T) {
	pickles := map[string][]byte{}
	for _, path := range fixtures {
		data, err := os.ReadFile(path)
		require.NoError(t, err)
		zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
		require.NoError(t, err)
		recs, prefix, err := records(zr, data)
		require.NoError(t, err)
		pickles[path] = recs[prefix+"data.pkl"]
	}
	pickles["tensor"] = tensorPickle("FloatStorage", 4, 0, []int{2, 2}, []int{2, 1})
	n := 60000
	pickles["MARKs"] = repeat("\x80\x02", "(", MaxPickleMarks, "N.")
	pickles["MARK, POP_MARK"] = repeat("\x80\x02", "(1", n, "N.")
	pickles["DUPs"] = repeat("\x80\x02N", "2", n, ".")
	pickles["MEMOIZEs"] = repeat("\x80\x04N", "\x94", n, ".")
	pickles["strings"] = repeat("\x80\x02", strOp(100)+"0", n, "N.")
	pickles["short strings"] = repeat("\x80\x02", "\x8c\x010", n, "N.")
	pickles["ints"] = repeat("\x80\x02", "J\x00\x00\x00\x010", n, "N.")
	pickles["longs"] = repeat("\x80\x02", "\x8a\x08\x00\x00\x00\x00\x00\x00\x00\x800", n, "N.")
	pickles["floats"] = repeat("\x80\x02", "G\x3f\xf8\x00\x00\x00\x00\x00\x000", n, "N.")
	pickles["tuples"] = repeat("\x80\x02N", "\x85", n, ".")
	pickles["triples"] = repeat("\x80\x02N", "NN\x87", n, ".")
	pickles["empty tuples"] = repeat("\x80\x02", ")0", n, "N.")
	pickles["lists"] = repeat("\x80\x02", "]0", n, "N.")
	pickles["list items"] = repeat("\x80\x02]", "Na", n, ".")
	pickles["dicts"] = repeat("\x80\x02", "}0", n, "N.")
	pickles["dict items"] = repeat("\x80\x02}", "NNs", n, ".")
	pickles["DICTs"] = repeat("\x80\x02", "(NNd0", n, "N.")
	pickles["OrderedDicts"] = repeat("\x80\x02ccollections\nOrderedDict\nq\x000", "h\x00)R0", n/2, "N.")
	pickles["OrderedDict items"] = repeat("\x80\x02ccollections\nOrderedDict\n)R", "K\x01Ns", n/2, ".")
	pickles["OrderedDict keys"] = repeat("\x80\x02ccollections\nOrderedDict\n)R", "]Ns", n/2, ".")
	pickles["OrderedDict string keys"] = repeat("\x80\x02ccollections\nOrderedDict\n)R", strOp(200)+"Ns", n/2, ".")
	pickles["globals"] = repeat("\x80\x02", "ctorch._utils\n_rebuild_parameter\n0", n, "N.")
	pickles["persistent ids"] = repeat("\x80\x02", "(X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x000X\x03\x00\x00\x00cpuK\x01tQ0", n/4, "N.")
	pickles["attributes"] = repeat("\x80\x02ccollections\nOrderedDict\n)R}", strOp(8)+"Ns", n/2, "b.")
	pickles["BUILDs"] = repeat("\x80\x02ccollections\nOrderedDict\n)R}X\x01\x00\x00\x00aNsq\x000", "h\x00b", n, ".")
	pickles["frames"] = repeat("\x80\x04", "\x95\x01\x00\x00\x00\x00\x00\x00\x00N0", n, "N.")
	for name, pkl := range pickles {
		work, err := scan(pkl)
		require.NoError(t, err, name)
		var got uint64
		got = allocated(func() {
			obj, err := unpickle(pkl)
			require.NoError(t, err, name)
			_, _ = stateDict(obj, func(string) ([]byte, bool) { return nil, false })
		})
		require.LessOrEqual(t, got, uint64(work), "%s: %d bytes allocated, %d estimated", name, got, work)
		t.Logf("%-24s %9d bytes allocated, %9d estimated (%.2f)", name, got, work, float64(got)/float64(work))
	}
}

// TestDecodeNearTheLimits: for each opcode pattern, the longest repetition
// the scan lets through (found by bisection) unpickles within 100 MB, and
// one more is refused.
func TestDecodeNearTheLimits(t *testing.T) {
	for _, p := range []struct{ name, head, body, tail string }{
		{"MARK, POP_MARK", "\x80\x02", "(1", "N."},
		{"DUPs", "\x80\x02N", "2", "."},
		{"MEMOIZEs", "\x80\x04N", "\x94", "."},
		{"list items", "\x80\x02]", "Na", "."},
		{"dict items", "\x80\x02}", "NNs", "."},
		{"OrderedDict keys", "\x80\x02ccollections\nOrderedDict\n)R", "]Ns", "."},
		{"OrderedDicts", "\x80\x02ccollections\nOrderedDict\nq\x000", "h\x00)R0", "N."},
		{"strings", "\x80\x02", strOp(1000) + "0", "N."},
		{"persistent ids", "\x80\x02", "(X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x000X\x03\x00\x00\x00cpuK\x01tQ0", "N."},
		{"attributes", "\x80\x02ccollections\nOrderedDict\n)R}", strOp(8) + "Ns", "b."},
	} {
		t.Run(p.name, func(t *testing.T) {
			ok := func(n int) bool { _, err := scan(repeat(p.head, p.body, n, p.tail)); return err == nil }
			lo, hi := 1, 2 // ok(lo), !ok(hi)
			for ok(hi) {
				lo, hi = hi, 2*hi
			}
			for hi-lo > 1 {
				if mid := (lo + hi) / 2; ok(mid) {
					lo = mid
				} else {
					hi = mid
				}
			}
			data := archive(t, repeat(p.head, p.body, lo, p.tail))
			n := allocated(func() { _, _ = Decode(data, "x") })
			require.Less(t, n, uint64(bombBudget), "%d repetitions: Decode allocated %d MB", lo, n>>20)
			_, err := Decode(archive(t, repeat(p.head, p.body, hi, p.tail)), "x")
			require.ErrorContains(t, err, "pickle opcode")
			t.Logf("%d repetitions (%d bytes): %d MB allocated; one more: %v", lo, len(data), n>>20, err)
		})
	}
}

// FuzzPickle fuzzes data.pkl itself (a mutated archive mostly fails its
// CRC-32 before the pickle is read): Decode stays within decodeBudget and
// its errors are one short line, and for a pickle the scan lets through,
// unpickling allocates no more than the scan's estimate of its work.
func FuzzPickle(f *testing.F) {
	for _, path := range fixtures {
		data, err := os.ReadFile(path)
		require.NoError(f, err)
		zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
		require.NoError(f, err)
		recs, prefix, err := records(zr, data)
		require.NoError(f, err)
		f.Add(recs[prefix+"data.pkl"])
	}
	f.Add(tensorPickle("FloatStorage", 1, 0, []int{1}, []int{1}))
	f.Add(repeat("\x80\x02("+strOp(1<<10), "2", 1<<10, "lQ."))
	f.Add(repeat("\x80\x02", "(", 300, "."))
	f.Add(repeat("\x80\x04N", "\x94", 1<<10, "."))
	f.Add([]byte("\x80\x02" + bigList(16, 1<<10) + ")R."))
	f.Add([]byte("\x80\x02ccollections\nOrderedDict\n)R}" + strOp(8) + "Nsb."))
	f.Fuzz(func(t *testing.T, pkl []byte) {
		data := archive(t, pkl)
		var err error
		if n := allocated(func() { _, err = Decode(data, "fuzz") }); n > decodeBudget(len(data)) {
			t.Fatalf("Decode of a %d-byte pickle allocated %d bytes, more than its budget %d (err: %v)", len(pkl), n, decodeBudget(len(data)), err)
		}
		if err != nil {
			if msg := err.Error(); len(msg) > 1000 || strings.Contains(msg, "\n") {
				t.Fatalf("error of %d bytes or more than one line: %.1000q", len(msg), msg)
			}
		}
		work, err := scan(pkl)
		if err != nil {
			return
		}
		if n := allocated(func() {
			if obj, err := unpickle(pkl); err == nil {
				_, _ = stateDict(obj, func(string) ([]byte, bool) { return []byte{0, 0, 0x80, 0x3f}, true })
			}
		}); n > uint64(work) {
			t.Fatalf("unpickling allocated %d bytes, the scan estimated %d", n, work)
		}
	})
}
