// Package golden reads the fixture files that scripts/golden writes from an
// independent float64 PyTorch implementation of the TRM spec: gzip-compressed
// JSON whose tensors are {"shape": [...], "data": [...]}. The tests of nn and
// trm compare the Go model against them.
package golden

import (
	"compress/gzip"
	"encoding/json"
	"fmt"
	"os"
)

// Tensor is one tensor of a fixture: a shape and row-major values. The
// values are written as the shortest decimals that round-trip float32, so
// converting them to float32 gives the exact bits PyTorch used.
type Tensor struct {
	Shape []int     `json:"shape"`
	Data  []float64 `json:"data"`
}

// F32 returns the values as float32.
func (g Tensor) F32() []float32 {
	x := make([]float32, len(g.Data))
	for i, v := range g.Data {
		x[i] = float32(v)
	}
	return x
}

// I32 returns the values as int32 (token ids, labels).
func (g Tensor) I32() []int32 {
	x := make([]int32, len(g.Data))
	for i, v := range g.Data {
		x[i] = int32(v)
	}
	return x
}

// Load decodes the gzip-compressed JSON fixture at path into v.
func Load(path string, v any) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return fmt.Errorf("fixture %s: %w", path, err)
	}
	if err := json.NewDecoder(zr).Decode(v); err != nil {
		return fmt.Errorf("fixture %s: %w", path, err)
	}
	return nil
}
