package nn

import (
	"fmt"

	"github.com/trm-go/trm/tensor"
)

// MaxDims is the largest number of axes a tape node may have.
const MaxDims = 6

// Node is one value of a computation recorded on a Tape: an input, a
// parameter or the result of an op. Value holds the forward result; Grad
// holds d(loss)/d(Value) once Backward has reached the node (its Data is nil
// before that, or when no gradient flows to the node).
//
// After Backward, Grad is meaningful for Params and for leaves made by Var;
// the Grad of an op's result has nil Data again: once the op's backward step
// has run, its storage is passed on to the nodes that feed it (a residual
// sum passes its gradient on without a copy) or reused for later gradients.
//
// Nodes made by a Tape live in the tape's arena: they and their Value/Grad
// storage are valid until the next Reset (or the Release of a Mark taken
// before they were made). Keep results across steps by copying them out.
type Node struct {
	// Value is the forward value.
	Value tensor.Tensor
	// Grad is the gradient of the loss with respect to Value, with the same
	// shape, or has nil Data when none has been computed.
	Grad tensor.Tensor

	shape        [MaxDims]int
	requiresGrad bool
	persistent   bool // a Param's node: its Grad is owned by the Param
}

// Shape returns the node's shape (a slice of the node's own storage: do not
// modify it).
func (n *Node) Shape() []int { return n.Value.Shape }

// RequiresGrad reports whether a gradient flows back to this node.
func (n *Node) RequiresGrad() bool { return n.requiresGrad }

// setShape sets the node's shape from dims, storing it inside the node.
func (n *Node) setShape(dims []int) {
	if len(dims) > MaxDims {
		panic(fmt.Sprintf("nn: shape %s has more than %d axes", tensor.ShapeString(dims), MaxDims))
	}
	copy(n.shape[:], dims)
	n.Value.Shape = n.shape[:len(dims):len(dims)]
	n.Grad.Shape = n.Value.Shape
}

// Param is a trainable tensor: a named Node whose Value and Grad are owned by
// the Param and outlive every tape step. Gradients accumulate into Grad
// across Backward calls until ZeroGrad.
//
// Use &p.Node as the input of tape ops. A Param must not be copied.
type Param struct {
	// Name identifies the parameter in checkpoints and optimizer state,
	// e.g. "layers.0.mlp.down_proj.weight".
	Name string
	Node
}

// NewParam returns a zero-valued parameter with a zero gradient.
func NewParam(name string, shape ...int) *Param {
	n := tensor.Size(shape)
	p := &Param{Name: name}
	p.setShape(shape)
	p.Value.Data = make([]float32, n)
	p.Grad.Data = make([]float32, n)
	p.requiresGrad = true
	p.persistent = true
	return p
}

// ZeroGrad sets the parameter's gradient to zero.
func (p *Param) ZeroGrad() { clear(p.Grad.Data) }

// ZeroGrads sets the gradient of every parameter to zero.
func ZeroGrads(params []*Param) {
	for _, p := range params {
		p.ZeroGrad()
	}
}

// nodeChunk is the number of nodes allocated at a time; chunks never move,
// so *Node pointers stay valid while the pool grows.
const nodeChunk = 256

type nodePool struct {
	chunks [][]Node
	n      int
}

func (p *nodePool) get() *Node {
	c, i := p.n/nodeChunk, p.n%nodeChunk
	if c == len(p.chunks) {
		p.chunks = append(p.chunks, make([]Node, nodeChunk))
	}
	p.n++
	nd := &p.chunks[c][i]
	*nd = Node{}
	return nd
}

// Tape records the ops of a forward pass, in execution order, so that
// Backward can replay them in reverse and accumulate gradients into the
// parameters. All activations and intermediate gradients live in an arena
// owned by the tape: chunks of storage that stay where they are for the
// tape's life. Reset frees them at once and reuses the storage, so the
// first step allocates what a step needs (a few dozen chunks), a later
// step only what it needs beyond every earlier one (a larger batch), and a
// steady-state training step nothing. The memory goes when the tape is
// dropped (it is on the Go heap, so a value still referenced keeps its
// chunk alive).
//
// Usage per training step: Reset, build the forward pass with the tape's op
// methods, Backward(loss), then an optimizer step. Inside SetNoGrad(true)
// nothing is recorded and no activation is saved for backward; combined
// with Mark/Release this runs many forward passes in constant memory.
//
// A Tape is not safe for concurrent use. Several tapes may run forward
// passes over the same Params at once (they only read them); Backward adds
// to the Params' Grad, so backward passes over shared Params must not
// overlap, unless each tape keeps those gradients private
// (SetPrivateGrads).
type Tape struct {
	arena  arena
	nodes  nodePool
	recs   []record
	noGrad bool
	attn   attnJob       // reused by every Attention call and its backward
	rows   rowJob        // reused by the parallel row and element-wise ops
	cols   colJob        // reused by the column-wise ops (AddRMSNormCols)
	packs  weightPacks   // packed weights while they are frozen (FreezeWeights)
	priv   privGrads     // Params whose gradients go to the tape's own buffers (SetPrivateGrads)
	team   tensor.Team   // goroutines the ops may use (SetTeam, SetTuner)
	tuner  *tensor.Tuner // times network applications and backward passes; nil: off
}

// NewTape returns an empty tape.
func NewTape() *Tape { return &Tape{} }

// Reset forgets every recorded op, frees every node made since the last
// Reset and turns gradient recording back on. Nodes and tensors obtained
// from the tape before become invalid. Parameters and their gradients are
// untouched.
func (t *Tape) Reset() {
	t.arena.reset()
	t.nodes.n = 0
	clear(t.recs) // drop references to caller data (ids, labels)
	t.recs = t.recs[:0]
	t.noGrad = false
}

// SetTeam sets how many goroutines the tape's ops may use, the caller's
// included: matrix products, attention, the parallel row ops, forward and
// backward. The default, tensor.Team(0), is tensor.Workers(). Results are
// bit-identical for every Team. A tuner (SetTuner) sets it itself.
func (t *Tape) SetTeam(w tensor.Team) { t.team = w }

// Team returns the Team the tape's ops run on now.
func (t *Tape) Team() tensor.Team { return t.team }

// SetTuner makes every network application on the tape (Net.Forward) and
// every backward pass a unit of work that u times, run on the Team u picks
// for it (see tensor.Tuner); ops outside those units run on the Team u has
// settled on for the last kind of unit. So a run on a machine where another
// process holds a core moves to fewer workers when that is faster. nil
// turns tuning off and sets Team(0). The numbers do not depend on it.
func (t *Tape) SetTuner(u *tensor.Tuner) {
	t.tuner, t.team = u, 0
	if u != nil {
		t.team = u.Team()
	}
}

// beginUnit starts a unit of the tape's tuner, if any, of the given size.
func (t *Tape) beginUnit(work int) {
	if t.tuner != nil {
		t.team = t.tuner.Begin(work)
	}
}

// endUnit ends the unit beginUnit started.
func (t *Tape) endUnit() {
	if t.tuner != nil {
		t.tuner.End()
		t.team = t.tuner.Team()
	}
}

// SetNoGrad turns gradient recording off (true) or back on (false) and
// returns the previous setting. While it is off, ops produce values only:
// nothing is recorded, no activation is kept for backward, and results do
// not require gradients (like torch.no_grad).
func (t *Tape) SetNoGrad(off bool) (prev bool) {
	prev = t.noGrad
	t.noGrad = off
	return prev
}

// NoGrad reports whether gradient recording is off.
func (t *Tape) NoGrad() bool { return t.noGrad }

// Mark is a position in a tape's arena, node pool and record list; see
// Tape.Mark.
type Mark struct {
	chunk, off, live, bumped, nodes, recs int
}

// Mark returns the tape's current position. Release(m) later frees every
// node, value and record made after it.
func (t *Tape) Mark() Mark {
	a := t.arena.mark()
	return Mark{chunk: a.chunk, off: a.off, live: a.live, bumped: a.bumped, nodes: t.nodes.n, recs: len(t.recs)}
}

// Release frees every node, value and record made since m was taken: their
// storage is reused by the next ops. It is meant for no-gradient passes
// (copy the result you need out first, e.g. into a tensor wrapped by
// Const); releasing recorded ops drops them from backward.
func (t *Tape) Release(m Mark) {
	a := arenaMark{chunk: m.chunk, off: m.off, live: m.live, bumped: m.bumped}
	if t.arena.after(a) || m.nodes > t.nodes.n || m.recs > len(t.recs) {
		panic("nn: Release of a mark taken after a later Release or Reset")
	}
	t.arena.release(a)
	t.nodes.n = m.nodes
	clear(t.recs[m.recs:])
	t.recs = t.recs[:m.recs]
}

// Len returns the number of ops recorded since the last Reset.
func (t *Tape) Len() int { return len(t.recs) }

// Alloc returns n float32s of arena storage (not zeroed), valid until the
// next Reset or the Release of an earlier Mark. It is for scratch space in
// code built on the tape.
func (t *Tape) Alloc(n int) []float32 { return t.arena.alloc(n) }

// node returns a fresh node of the given shape with arena storage for its
// value (not zeroed). It requires a gradient when any of ins does and
// gradients are on.
func (t *Tape) node(shape []int, ins ...*Node) *Node {
	n := t.nodes.get()
	n.setShape(shape)
	n.Value.Data = t.arena.alloc(tensor.Size(shape))
	if !t.noGrad {
		for _, in := range ins {
			if in != nil && in.requiresGrad {
				n.requiresGrad = true
				break
			}
		}
	}
	return n
}

// view returns a node of the given shape over data (not copied).
func (t *Tape) view(data []float32, shape []int) *Node {
	n := t.nodes.get()
	n.setShape(shape)
	if len(data) != tensor.Size(shape) {
		panic(fmt.Sprintf("nn: %d values for shape %s", len(data), tensor.ShapeString(shape)))
	}
	n.Value.Data = data
	return n
}

// Const returns a node over x's storage (not copied) that does not require a
// gradient: an input, a label-free constant, a detached carry. x must stay
// unchanged until Backward is done.
func (t *Tape) Const(x *tensor.Tensor) *Node { return t.view(x.Data, x.Shape) }

// Var returns a node over x's storage (not copied) that requires a gradient
// (unless gradients are off): after Backward its Grad holds d(loss)/dx, in
// arena storage valid until Reset.
func (t *Tape) Var(x *tensor.Tensor) *Node {
	n := t.view(x.Data, x.Shape)
	n.requiresGrad = !t.noGrad
	return n
}

// Zeros returns a constant node of zeros.
func (t *Tape) Zeros(shape ...int) *Node {
	n := t.nodes.get()
	n.setShape(shape)
	n.Value.Data = t.arena.allocZero(tensor.Size(shape))
	return n
}

// grad returns n's gradient storage, allocating it zeroed on first use.
func (t *Tape) grad(n *Node) []float32 {
	if n.Grad.Data == nil {
		n.Grad.Data = t.arena.allocZero(len(n.Value.Data))
	}
	return n.Grad.Data
}

// gradBuf returns n's gradient storage and whether it is fresh: allocated
// just now and not initialised, so that the caller must write every element
// instead of adding to it. Writing the first contribution (GEMM with beta 0,
// a store instead of an add) saves zeroing and re-reading the buffer.
func (t *Tape) gradBuf(n *Node) ([]float32, bool) {
	if n.Grad.Data != nil {
		return n.Grad.Data, false
	}
	n.Grad.Data = t.arena.alloc(len(n.Value.Data))
	return n.Grad.Data, true
}

// gradShare makes n's gradient storage buf when n has none yet (n is not a
// Param) and reports whether it did. The backward pass calls it with the
// gradient of an op's output, which no later step reads: a residual sum or
// a reshape then passes its gradient on without a copy.
func (t *Tape) gradShare(n *Node, buf []float32) bool {
	if n.Grad.Data != nil || n.persistent {
		return false
	}
	n.Grad.Data = buf
	return true
}

// accum adds src into n's gradient (copies it when the gradient is fresh).
func (t *Tape) accum(n *Node, src []float32) {
	g, fresh := t.gradBuf(n)
	if fresh {
		copy(g, src)
	} else {
		t.parAccum(g, src)
	}
}

// gradT is grad as a tensor.
func (t *Tape) gradT(n *Node) *tensor.Tensor {
	t.grad(n)
	return &n.Grad
}

// Backward computes the gradient of loss (a node with one element) with
// respect to every node that requires one, replaying the recorded ops in
// reverse. Parameter gradients are added to the Params' Grad (call ZeroGrad
// between steps); other nodes' Grad is recomputed from scratch on each call.
// It panics if loss is not a scalar.
func (t *Tape) Backward(loss *Node) {
	if len(loss.Value.Data) != 1 {
		panic(fmt.Sprintf("nn: Backward: loss has shape %v, want one element", loss.Value.Shape))
	}
	if !loss.requiresGrad {
		return
	}
	for c := 0; c*nodeChunk < t.nodes.n; c++ {
		chunk := t.nodes.chunks[c][:min(nodeChunk, t.nodes.n-c*nodeChunk)]
		for i := range chunk {
			chunk[i].Grad.Data = nil
		}
	}
	// A backward pass is a unit of the tape's tuner too, of its own kind
	// (a negative size: the record count).
	t.beginUnit(-1 - len(t.recs))
	defer t.endUnit()
	t.grad(loss)[0] += 1
	for i := len(t.recs) - 1; i >= 0; i-- {
		r := &t.recs[i]
		g := r.out.Grad.Data
		if g == nil {
			continue
		}
		r.backward(t)
		// No op recorded before r reads r.out's gradient (r made r.out):
		// its storage is reused for the gradients still to come, unless r
		// passed it on to an input (a residual sum, a reshape).
		if !r.out.persistent {
			r.out.Grad.Data = nil
			t.freeUnlessGrad(g, r.a, r.b, r.c)
		}
	}
}

// freeUnlessGrad gives buf, storage from the tape's arena, back for reuse
// unless it is the gradient storage of one of nodes (the backward pass
// passed it on).
func (t *Tape) freeUnlessGrad(buf []float32, nodes ...*Node) {
	if len(buf) == 0 {
		return
	}
	for _, n := range nodes {
		if n != nil && len(n.Grad.Data) > 0 && &n.Grad.Data[0] == &buf[0] {
			return
		}
	}
	t.arena.free(buf)
}

// need reports whether n wants a gradient.
func need(n *Node) bool { return n != nil && n.requiresGrad }

// Reshape returns a view of x with another shape (one dimension may be -1).
// Values are shared; the gradient flows back unchanged.
func (t *Tape) Reshape(x *Node, shape ...int) *Node {
	var buf [MaxDims]int
	if len(shape) > MaxDims {
		panic(fmt.Sprintf("nn: Reshape: %s has more than %d axes", tensor.ShapeString(shape), MaxDims))
	}
	s := tensor.ResolveShape(len(x.Value.Data), append(buf[:0], shape...))
	n := t.view(x.Value.Data, s)
	if !t.noGrad && x.requiresGrad {
		n.requiresGrad = true
		t.record(record{op: opReshape, out: n, a: x})
	}
	return n
}

func (t *Tape) record(r record) {
	if t.priv.nodes != nil {
		r.a, r.b, r.c = t.private(r.a), t.private(r.b), t.private(r.c)
	}
	t.recs = append(t.recs, r)
}
