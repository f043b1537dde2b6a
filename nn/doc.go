// Package nn is a small reverse-mode automatic-differentiation layer over
// package tensor: a tape that records forward operations and replays them
// backward, the layers a Tiny Recursive Model is made of, losses,
// initialisers, optimizers and an exponential moving average of the weights.
//
// # The tape
//
// A Tape records ops in execution order as plain records (an op kind, its
// inputs, its output and what it saved), with no closure or interface value
// per op. Backward replays them in reverse and accumulates gradients into
// the Params. Every activation and intermediate gradient lives in an arena
// owned by the tape; Reset frees everything at once and reuses the storage,
// so that once the arena has grown to the size of a step, a whole training
// step (forward, backward, optimizer, EMA) allocates nothing.
//
// The first gradient written to a buffer overwrites it (GEMM with beta 0, a
// store instead of an add), and a residual sum or a reshape hands its
// output gradient on to one input without a copy: no gradient buffer is
// zeroed or re-read needlessly.
//
// SetNoGrad(true) turns recording off, like torch.no_grad: ops compute
// values only and keep nothing for backward. With Mark and Release, many
// forward passes without gradient (TRM's T−1 recursion cycles) run in the
// memory of one: take a Mark, run the pass, copy its result out, Release.
//
// Nodes are valid until the next Reset; keep a result across steps by
// copying it out (Const wraps caller-owned storage as an input again).
//
// # Ops and layers
//
// Tape methods: Linear, Add (with broadcasting over leading axes), Mul,
// Scale, Embedding, RMSNorm, AddRMSNorm (a residual sum and its norm in one
// pass), SiLU, SwiGLU, Transpose (last two axes), Reshape, Slice, Concat,
// RoPE, Attention (fused qkv, non-causal, optional rotary embeddings), Sum,
// Mean, StablemaxCE, SoftmaxCE, BCEWithLogits, and the MLP-mixer's
// sequence-axis ops, which spare it the transposes: MixLinear (a product
// over the second-to-last axis), SwiGLURows, AddRMSNormCols.
// Every backward pass is checked against central finite differences of an
// independent float64 reference, and the two-block network against a
// PyTorch golden file.
//
// Layers follow the official TRM code and its state-dict names: Linear
// (weights [out, in] like PyTorch), Embedding, SwiGLU (gate_up_proj,
// down_proj), Attention (qkv_proj, o_proj), Block (post-norm, attention or
// MLP-mixer "mlp_t" variant) and Net, the stack of blocks TRM applies
// recursively: net(h, inject) = blocks(h + inject).
//
// # Training
//
// Initialisers (TruncNormal, LeCunNormal) take explicit seeded math/rand/v2
// generators. Optimizers: AdamW, AdamATan2 (the official optimizer, no ε),
// SignSGD with decoupled weight decay (the puzzle embedding), with the
// WarmupLR schedule (linear warm-up, then constant: the official
// default). EMA keeps the averaged weights and
// swaps them in for evaluation. Optimizer and EMA state exports as named
// float32 slices plus a step count, for exactly resumable training.
//
// The hot loops run on the asm kernels and tensor.Gemm; attention and the
// memory-bound row ops are split across tensor.Parallel's workers. A tape's
// ops run on its Team (Tape.SetTeam), or on the one its tuner picks for
// each network application (Tape.SetTuner).
package nn
