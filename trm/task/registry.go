package task

import "github.com/trm-go/trm/internal/registry"

// Factory builds a task from its options. It must reject unknown
// options (see Options.CheckKnown) and out-of-range values.
type Factory func(opts Options) (Task, error)

var tasks = registry.New[Factory]("task")

// Register makes a task available by name to New, the CLI and
// checkpoints. doc is a one-line description for help output. It panics if
// the name is empty, already taken or f is nil (a programming error), so
// call it from an init function.
func Register(name, doc string, f Factory) {
	if f == nil {
		panic("task: Register with a nil factory")
	}
	tasks.Register(name, doc, f)
}

// New builds the registered task name with opts (nil for defaults).
func New(name string, opts Options) (Task, error) {
	f, err := tasks.Lookup(name)
	if err != nil {
		return nil, err
	}
	return f(opts)
}

// Names lists the registered tasks in sorted order.
func Names() []string { return tasks.Names() }

// Doc returns the one-line description of a registered task.
func Doc(name string) string { return tasks.Doc(name) }
