package checkpoints

import (
	_ "embed"
	"sort"
)

// arith is the default demo model: sums of numbers of up to 5 digits (see
// the package documentation for how it was trained and how well it does).
//
//go:embed arith.safetensors
var arith []byte

// models maps a task name to its shipped checkpoint.
var models = map[string][]byte{"arith": arith}

// Lookup returns the shipped checkpoint (safetensors bytes, as written by
// trm.SaveCheckpoint) for a task, and whether there is one. The bytes are
// shared: do not modify them.
func Lookup(task string) ([]byte, bool) {
	b, ok := models[task]
	return b, ok
}

// Tasks lists the tasks with a shipped model, sorted.
func Tasks() []string {
	names := make([]string, 0, len(models))
	for n := range models {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
