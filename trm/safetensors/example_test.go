package safetensors_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/trm-go/trm/trm/safetensors"
)

// Write a file with two tensors and metadata, then read it back.
func Example() {
	dir, err := os.MkdirTemp("", "safetensors-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "model.safetensors")

	err = safetensors.Write(path, &safetensors.File{
		Metadata: map[string]string{"format": "demo/v1"},
		Tensors: map[string]safetensors.Tensor{
			"weight": safetensors.FromFloat32([]int{2, 2}, []float32{1, 2, 3, 4}),
			"step":   safetensors.FromInt64([]int{1}, []int64{1000}),
		},
	})
	if err != nil {
		log.Fatal(err)
	}

	f, err := safetensors.Read(path)
	if err != nil {
		log.Fatal(err)
	}
	w, err := f.Tensors["weight"].Float32s()
	if err != nil {
		log.Fatal(err)
	}
	step, err := f.Tensors["step"].Int64s()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(f.Metadata["format"], f.Names())
	fmt.Println(f.Tensors["weight"].Shape, w, step[0])
	// Output:
	// demo/v1 [step weight]
	// [2 2] [1 2 3 4] 1000
}
