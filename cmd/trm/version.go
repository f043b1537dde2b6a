package main

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/trm-go/trm/asm"
)

// buildInfo describes the running binary.
type buildInfo struct {
	Version    string `json:"version"`
	Revision   string `json:"revision,omitempty"`
	Modified   bool   `json:"modified,omitempty"`
	Go         string `json:"go"`
	OS         string `json:"os"`
	Arch       string `json:"arch"`
	Kernels    string `json:"kernels"`
	GemmKernel string `json:"gemm_kernels"`
	RowKernel  string `json:"row_kernels"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	NumCPU     int    `json:"num_cpu"`
}

// readBuildInfo gathers the module version (from the build information
// the go command embeds; "(devel)" for a build from a source tree), the VCS
// revision when recorded, and the run-time environment.
func readBuildInfo() buildInfo {
	b := buildInfo{
		Version:    "(devel)",
		Go:         runtime.Version(),
		OS:         runtime.GOOS,
		Arch:       runtime.GOARCH,
		Kernels:    asm.Impl(),
		GemmKernel: asm.GemmImpl(),
		RowKernel:  asm.RowImpl(),
		GOMAXPROCS: runtime.GOMAXPROCS(0),
		NumCPU:     runtime.NumCPU(),
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v := bi.Main.Version; v != "" {
			b.Version = v
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				b.Revision = s.Value
			case "vcs.modified":
				b.Modified = s.Value == "true"
			}
		}
	}
	return b
}

func runVersion(_ context.Context, e env, args []string) error {
	fs := newFlagSet(e, "version", "[--json]", "Prints the module version, the Go version, the platform, the active\nnumeric kernels (asm.Impl) and the number of threads.")
	asJSON := fs.Bool("json", false, "print as JSON")
	if err := parse(fs, args, false); err != nil {
		return err
	}
	b := readBuildInfo()
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(b)
	}
	rev := ""
	if b.Revision != "" {
		rev = " " + b.Revision
		if b.Modified {
			rev += "+dirty"
		}
	}
	fmt.Fprintf(e.stdout, "trm %s%s\n", b.Version, rev)
	fmt.Fprintf(e.stdout, "go:         %s\n", b.Go)
	fmt.Fprintf(e.stdout, "platform:   %s/%s\n", b.OS, b.Arch)
	fmt.Fprintf(e.stdout, "kernels:    %s\n", b.Kernels)
	fmt.Fprintf(e.stdout, "gemm:       %s\n", b.GemmKernel)
	fmt.Fprintf(e.stdout, "exp rows:   %s\n", b.RowKernel)
	fmt.Fprintf(e.stdout, "GOMAXPROCS: %d (of %d CPUs)\n", b.GOMAXPROCS, b.NumCPU)
	return nil
}
