// Package mmapfile is what is left of the memory-mapped checkpoint reader:
// Read now reads the file (internal/readfile) and maps nothing.
//
// A mapping let a running model's weights be the file's pages: a file
// rewritten in place under a server changed its answers, and a file
// truncated under it killed the process with SIGBUS (issue 29). See
// internal/readfile for the reasons and the cost.
//
// Deprecated: use internal/readfile (in package trm, readCheckpointFile).
// The package stays only until its last caller has moved.
package mmapfile

import "github.com/trm-go/trm/internal/readfile"

// Read returns the content of the regular file at path in a buffer of its
// own (readfile.Read without a size limit); mapped is always false.
//
// Deprecated: use readfile.Read.
func Read(path string) (data []byte, mapped bool, err error) {
	data, err = readfile.Read(path, -1)
	return data, false, err
}
