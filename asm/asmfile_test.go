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
// architecture: it is a static check) and fails if a function other than
// the AVX-512 kernels (named *AVX512*, run only when useAVX512 is set) uses
// a register that only AVX-512 can encode (avo's allocator knows X16–X31
// and would use them under register pressure; the kernels would then fault
// on AVX2-only CPUs), if an AVX-512 kernel uses none (a misnamed function),
// or if a function returns without VZEROUPPER after touching YMM or ZMM
// state.
func TestAVX2Assembly(t *testing.T) {
	files, err := filepath.Glob("*_amd64.s")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	avx512 := regexp.MustCompile(`\b([XYZ](1[6-9]|2[0-9]|3[01])|Z[0-9]+|K[0-7])\b`)
	upper := regexp.MustCompile(`\b(Y([0-9]|[12][0-9]|3[01])|Z([0-9]|[12][0-9]|3[01]))\b`)
	avx512Funcs := 0
	for _, file := range files {
		src, err := os.ReadFile(file)
		require.NoError(t, err)
		fn, isAVX512, usesAVX512, usesUpper, prev := "", false, false, false, ""
		// endFunc checks that an AVX-512 kernel did use AVX-512 registers.
		endFunc := func() {
			if isAVX512 {
				require.True(t, usesAVX512, "%s: %s is named AVX512 but uses no AVX-512 register", file, fn)
				avx512Funcs++
			}
		}
		for i, line := range strings.Split(string(src), "\n") {
			line = strings.TrimSpace(line)
			if c := strings.Index(line, "//"); c >= 0 {
				line = strings.TrimSpace(line[:c])
			}
			if line == "" {
				continue
			}
			if strings.HasPrefix(line, "TEXT ") {
				endFunc()
				fn, usesUpper, usesAVX512 = line, false, false
				isAVX512 = strings.Contains(line, "AVX512")
			}
			if avx512.MatchString(line) {
				require.True(t, isAVX512, "%s:%d: %q needs AVX-512, in %s", file, i+1, line, fn)
				usesAVX512 = true
			}
			if upper.MatchString(line) {
				usesUpper = true
			}
			if line == "RET" && usesUpper {
				require.Equal(t, "VZEROUPPER", prev, "%s:%d: %s returns without VZEROUPPER", file, i+1, fn)
			}
			prev = line
		}
		endFunc()
	}
	require.Positive(t, avx512Funcs, "no AVX-512 kernel found in the assembly")
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
