package asm

// transposeTile is the tile edge of transposeGeneric: a 32×32 tile of src
// and of dst (4 KiB each) stays in L1 while it is copied.
const transposeTile = 32

// transposeGeneric is the reference Transpose: tiles of transposeTile rows
// and columns, each copied row by row.
func transposeGeneric(dst []float32, ldd int, src []float32, lds int, r, c int) {
	for i0 := 0; i0 < r; i0 += transposeTile {
		i1 := min(i0+transposeTile, r)
		for j0 := 0; j0 < c; j0 += transposeTile {
			j1 := min(j0+transposeTile, c)
			for i := i0; i < i1; i++ {
				row := src[i*lds+j0 : i*lds+j1]
				for j, v := range row {
					dst[(j0+j)*ldd+i] = v
				}
			}
		}
	}
}
