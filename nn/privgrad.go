package nn

// Private gradients: data-parallel backward passes over shared Params.
//
// A Tape normally adds the gradients of Params into their Grad, so backward
// passes over the same Params must not overlap. A tape with private
// gradients (SetPrivateGrads) adds them into buffers of its own instead: the
// ops it records name a private node for each of those Params, with the
// Param's Value and a gradient the tape owns. Several such tapes can then run
// forward and backward passes over disjoint parts of a batch at once, and
// the caller sums their gradients into the Params (AddPrivateGrads) in an
// order of its choosing — a fixed order gives the same bits whatever the
// number of tapes that ran.

// privGrads maps a Param's node to the tape's private node for it.
type privGrads struct {
	nodes  map[*Node]*Node
	params []*Param // in the order given, for AddPrivateGrads
}

// SetPrivateGrads makes the tape's backward passes add the gradients of
// params into buffers the tape owns (zeroed now) instead of the Params'
// Grad; nil turns it off. Gradients of Params not listed still go to their
// Grad. Call it between steps, not while ops are recorded.
func (t *Tape) SetPrivateGrads(params []*Param) {
	if len(params) == 0 {
		t.priv = privGrads{}
		return
	}
	t.priv = privGrads{nodes: make(map[*Node]*Node, len(params)), params: params}
	for _, p := range params {
		n := new(Node)
		*n = p.Node // the Param's value and shape
		n.Grad.Data = make([]float32, len(p.Value.Data))
		t.priv.nodes[&p.Node] = n
	}
}

// PrivateGrad returns the tape's gradient buffer for p, or nil when p's
// gradients are not private to the tape.
func (t *Tape) PrivateGrad(p *Param) []float32 {
	if n := t.priv.nodes[&p.Node]; n != nil {
		return n.Grad.Data
	}
	return nil
}

// ZeroPrivateGrads sets the tape's private gradients to zero.
func (t *Tape) ZeroPrivateGrads() {
	for _, n := range t.priv.nodes {
		clear(n.Grad.Data)
	}
}

// AddPrivateGrads adds the tape's private gradients into the Params' Grad,
// Param by Param in the order given to SetPrivateGrads, on the tape's Team
// (bit-identical for every Team: each element is one addition).
func (t *Tape) AddPrivateGrads() {
	for _, p := range t.priv.params {
		t.parAccum(p.Grad.Data, t.priv.nodes[&p.Node].Grad.Data)
	}
}

// private returns the node an op records for input n: the tape's private
// node when n is a Param whose gradients are private, else n.
func (t *Tape) private(n *Node) *Node {
	if n == nil || !n.persistent || t.priv.nodes == nil {
		return n
	}
	if p := t.priv.nodes[n]; p != nil {
		return p
	}
	return n
}
