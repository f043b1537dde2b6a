// Package serve is trm's inference server: trained models behind HTTP,
// batched at the granularity of one supervision step.
//
// Every request's inputs go to its model's bounded queue. Batch loops (one
// or more per model, see Layout) each run up to Options.MaxBatch inputs
// one supervision step at a time: after any step an input leaves its batch
// when it halts (q_halt > 0 with halt "early"), reaches its step cap, or
// its request ends (client gone, deadline passed), and queued inputs join
// at the next step. Like iteration-level batching in LLM servers, this
// keeps batches full under load while a lone request still runs alone.
// Each input's rows are computed independently of the others in its batch,
// so batching does not change answers.
//
// The APIs:
//
//	GET  /v1/models                    the models, their config and task
//	GET  /v1/models/{name}
//	POST /v1/models/{name}/predict     {"inputs": ["3 + 7"], "halt": "early", "max_steps": 16, "trace": false}
//	GET  /v2, /v2/health/live, /v2/health/ready               Open Inference Protocol (KServe v2)
//	GET  /v2/models/{name}, /v2/models/{name}/ready
//	POST /v2/models/{name}/infer       BYTES "text" [N] in; "answer", "confidence", "steps" [N] out
//	     /v2/models/{name}/versions/1/...   the same: each model has one version, "1"
//	GET  /metrics                      Prometheus
//
// The Open Inference Protocol's parameters are open key/value pairs:
// "halt" and "max_steps" are read, others ignored. Tensor data may be
// row-major flattened or nested as the shape says.
//
// Refusals are 4xx with a JSON body naming the field and what was expected
// (quoting at most 64 bytes of a value); a full queue is 429 with
// Retry-After, a passed deadline 504. A panic in a handler or a batch loop
// is a 500 and a log line; the server goes on.
//
// Serve bounds what a client can hold: a header must arrive within
// Options.HeaderTimeout, a body within Options.BodyTimeout (408 after it),
// and at most Options.MaxConns connections are open, the others waiting in
// the kernel's accept queue. Its drain loses no request sent on a
// kept-alive connection (see Server.Serve).
package serve
