// Package atomicfile writes files atomically: a crash or an error never leaves
// a partial file in place of a good one.
package atomicfile

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Write creates or replaces the file at path with what write
// produces, so that a crash or an error never leaves a partial file in its
// place: it writes a temporary file in the same folder, flushes it to stable
// storage (fsync), renames it over path and syncs the folder. On error the
// temporary file is removed and path is left as it was. The new file has
// mode 0644 (before the umask is applied by later tools, if any).
func Write(path string, write func(w io.Writer) error) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp*")
	if err != nil {
		return fmt.Errorf("writing %q: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	bw := bufio.NewWriterSize(tmp, 1<<20)
	if err := write(bw); err != nil {
		return fmt.Errorf("writing %q: %w", path, err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("writing %q: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("writing %q: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("writing %q: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing %q: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing %q: %w", path, err)
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("writing %q: syncing folder: %w", path, err)
	}
	return nil
}
