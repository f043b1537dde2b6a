package asm

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestAVX2Assembly reads the generated amd64 assembly (on every
// architecture: it is a static check) and fails if a function uses a
// register that only AVX-512 can encode (avo's allocator knows X16–X31 and
// would use them under register pressure; the kernels would then fault on
// AVX2-only CPUs), or returns without VZEROUPPER after touching YMM state.
func TestAVX2Assembly(t *testing.T) {
	files, err := filepath.Glob("*_amd64.s")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	avx512 := regexp.MustCompile(`\b([XYZ](1[6-9]|2[0-9]|3[01])|Z[0-9]+|K[0-7])\b`)
	ymm := regexp.MustCompile(`\bY([0-9]|1[0-5])\b`)
	for _, file := range files {
		src, err := os.ReadFile(file)
		require.NoError(t, err)
		fn, usesYMM, prev := "", false, ""
		for i, line := range strings.Split(string(src), "\n") {
			line = strings.TrimSpace(line)
			if c := strings.Index(line, "//"); c >= 0 {
				line = strings.TrimSpace(line[:c])
			}
			if line == "" {
				continue
			}
			if strings.HasPrefix(line, "TEXT ") {
				fn, usesYMM = line, false
			}
			require.False(t, avx512.MatchString(line), "%s:%d: %q needs AVX-512", file, i+1, line)
			if ymm.MatchString(line) {
				usesYMM = true
			}
			if line == "RET" && usesYMM {
				require.Equal(t, "VZEROUPPER", prev, "%s:%d: %s returns without VZEROUPPER", file, i+1, fn)
			}
			prev = line
		}
	}
}

// TestGeneratorConstants checks that the exp constants written into the
// assembly by the generator (_asm/row.go) are those of exp1.
func TestGeneratorConstants(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("_asm", "row.go"))
	require.NoError(t, err)
	want := map[string]float32{
		"expHi": expHi, "expLo": expLo, "log2e": log2e, "ln2Hi": ln2Hi, "ln2Lo": ln2Lo,
		"expC2": expC2, "expC3": expC3, "expC4": expC4, "expC5": expC5, "expC6": expC6, "expC7": expC7,
	}
	def := regexp.MustCompile(`(?m)^\s*(\w+)\s*=\s*([-+0-9.eE]+)\s*$`)
	seen := 0
	for _, m := range def.FindAllStringSubmatch(string(src), -1) {
		w, ok := want[m[1]]
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(m[2], 32)
		require.NoError(t, err)
		require.Equal(t, w, float32(v), "_asm/row.go: %s", m[1])
		seen++
	}
	require.Equal(t, len(want), seen, "constants found in _asm/row.go")
}
