// Command _asm generates the amd64 AVX2+FMA kernels of package asm with avo.
//
// It is a module of its own so that avo never enters the dependency graph of
// programs that import trm. Run it through `go generate ./...` from the root of
// the trm module (see gen.go there); each run writes one kernel family:
//
//	go run . -family gemm -out ../gemm_amd64.s -stubs ../gemm_stubs_amd64.go -pkg asm
//
// The families are gemm (the SGEMM micro-kernel), vec (vector primitives)
// and row (exp and the activation, normalisation and softmax rows). Every
// function is a straight translation of the matching *_generic.go reference;
// the comments in the generator say what each instruction block computes.
package main

import (
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"

	. "github.com/mmcloughlin/avo/build"
)

// families maps a -family value to the function that emits its kernels.
var families = map[string]func(){
	"gemm": genGemm,
	"vec":  genVec,
	"row":  genRow,
}

func main() {
	family := flag.String("family", "", "kernel family to generate: "+strings.Join(familyNames(), ", "))
	flag.Parse() // also parses avo's -out, -stubs and -pkg flags
	gen, ok := families[*family]
	if !ok {
		fmt.Fprintf(os.Stderr, "_asm: -family %q: want one of %s\n", *family, strings.Join(familyNames(), ", "))
		os.Exit(2)
	}
	ConstraintExpr("amd64,gc,!purego")
	gen()
	Generate()
}

func familyNames() []string {
	var names []string
	for name := range families {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}
