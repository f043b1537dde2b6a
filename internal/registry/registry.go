// Package registry is the name → value table behind the project's plug-in
// points: the tasks (task.Register) and the optimizers
// (nn.RegisterOptimizer). It is safe for concurrent use.
package registry

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Registry maps names to values of type T, each with a one-line
// description.
type Registry[T any] struct {
	kind string // "task", "optimizer": what errors call an entry
	mu   sync.RWMutex
	m    map[string]entry[T]
}

type entry[T any] struct {
	doc string
	v   T
}

// New returns an empty registry whose errors call an entry kind.
func New[T any](kind string) *Registry[T] {
	return &Registry[T]{kind: kind, m: map[string]entry[T]{}}
}

// Register adds v under name. It panics if the name is empty or taken: a
// programming error, so call it from an init function.
func (r *Registry[T]) Register(name, doc string, v T) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if name == "" {
		panic("registry: a " + r.kind + " with an empty name")
	}
	if _, dup := r.m[name]; dup {
		panic("registry: " + r.kind + " " + strconv.Quote(name) + " registered twice")
	}
	r.m[name] = entry[T]{doc, v}
}

// Lookup returns the value registered under name, or an error naming the
// registered ones.
func (r *Registry[T]) Lookup(name string) (T, error) {
	r.mu.RLock()
	e, ok := r.m[name]
	r.mu.RUnlock()
	if !ok {
		var zero T
		return zero, fmt.Errorf("unknown %s %q, want one of %s", r.kind, name, strings.Join(r.Names(), ", "))
	}
	return e.v, nil
}

// Names lists the registered names, sorted.
func (r *Registry[T]) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	names := make([]string, 0, len(r.m))
	for n := range r.m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Doc returns the description registered with name ("" if none).
func (r *Registry[T]) Doc(name string) string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.m[name].doc
}
