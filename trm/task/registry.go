package task

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Factory builds a task from its options. It must reject unknown
// options (see Options.CheckKnown) and out-of-range values.
type Factory func(opts Options) (Task, error)

type taskEntry struct {
	doc     string
	factory Factory
}

var (
	taskMu       sync.RWMutex
	taskRegistry = map[string]taskEntry{}
)

// RegisterTask makes a task available by name to NewTask, the CLI and
// checkpoints. doc is a one-line description for help output. It panics if
// the name is empty or already taken (a programming error), so call it
// from an init function.
func Register(name, doc string, f Factory) {
	taskMu.Lock()
	defer taskMu.Unlock()
	if name == "" || f == nil {
		panic("task: RegisterTask with an empty name or a nil factory")
	}
	if _, dup := taskRegistry[name]; dup {
		panic("task: RegisterTask called twice for task " + strconv.Quote(name))
	}
	taskRegistry[name] = taskEntry{doc, f}
}

// NewTask builds the registered task name with opts (nil for defaults).
func New(name string, opts Options) (Task, error) {
	taskMu.RLock()
	e, ok := taskRegistry[name]
	taskMu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("unknown task %q, want one of %s", name, strings.Join(Names(), ", "))
	}
	return e.factory(opts)
}

// TaskNames lists the registered tasks in sorted order.
func Names() []string {
	taskMu.RLock()
	defer taskMu.RUnlock()
	names := make([]string, 0, len(taskRegistry))
	for n := range taskRegistry {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// TaskDoc returns the one-line description of a registered task.
func Doc(name string) string {
	taskMu.RLock()
	defer taskMu.RUnlock()
	return taskRegistry[name].doc
}
