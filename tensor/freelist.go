package tensor

import "sync"

// freeList keeps reusable objects (pack buffers, per-call state) for the
// lifetime of the program. Unlike sync.Pool it is never emptied by the
// garbage collector, so a steady-state Gemm allocates nothing even across
// GC cycles; it holds at most as many objects as calls ever ran at once.
type freeList[T any] struct {
	mu    sync.Mutex
	items []*T
	init  func(*T) // optional set-up of a new object
}

// get returns a free object, or a new one.
func (l *freeList[T]) get() *T {
	l.mu.Lock()
	if n := len(l.items); n > 0 {
		x := l.items[n-1]
		l.items = l.items[:n-1]
		l.mu.Unlock()
		return x
	}
	l.mu.Unlock()
	x := new(T)
	if l.init != nil {
		l.init(x)
	}
	return x
}

// put returns x to the list.
func (l *freeList[T]) put(x *T) {
	l.mu.Lock()
	l.items = append(l.items, x)
	l.mu.Unlock()
}
