package asm

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestImpl logs the active implementation, so that test output shows which
// kernels ran (CI runs the suite with SIMD, with -tags purego and with
// GODEBUG=cpu.avx2=off).
func TestImpl(t *testing.T) {
	t.Logf("asm.Impl() = %q, GemmImpl() = %q, RowImpl() = %q", Impl(), GemmImpl(), RowImpl())
	assert.Contains(t, []string{"avx2+fma", "neon", "generic"}, Impl())
	assert.Equal(t, wantImpl(), Impl())
}
