package serve

import (
	"net/http"
	"slices"
)

// The Open Inference Protocol (KServe v2) REST API: health, server and
// model metadata, and infer, so the binary serves as a KServe custom
// predictor. Errors are {"error": "<message>"}, as the protocol says.

// oipTensor is a tensor of an infer request or response.
type oipTensor struct {
	Name       string         `json:"name"`
	Shape      []int          `json:"shape"`
	Datatype   string         `json:"datatype"`
	Parameters map[string]any `json:"parameters,omitempty"`
	Data       any            `json:"data"`
}

// oipInferRequest is the body of POST /v2/models/{name}/infer.
type oipInferRequest struct {
	ID         string `json:"id,omitempty"`
	Parameters *struct {
		Halt     string `json:"halt,omitempty"`
		MaxSteps int    `json:"max_steps,omitempty"`
	} `json:"parameters,omitempty"`
	Inputs []struct {
		Name       string         `json:"name"`
		Shape      []int          `json:"shape"`
		Datatype   string         `json:"datatype"`
		Parameters map[string]any `json:"parameters,omitempty"`
		Data       []string       `json:"data"`
	} `json:"inputs"`
	Outputs []struct {
		Name       string         `json:"name"`
		Parameters map[string]any `json:"parameters,omitempty"`
	} `json:"outputs,omitempty"`
}

// oipOutputs are the output tensors infer answers with, in this order.
var oipOutputs = []struct{ name, datatype string }{
	{"answer", "BYTES"},
	{"confidence", "FP32"},
	{"steps", "INT32"},
}

// oipServerMetadata is GET /v2.
func (s *Server) oipServerMetadata(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"name": "trm", "version": version(), "extensions": []string{}})
}

// oipLive is GET /v2/health/live: the process answers.
func (s *Server) oipLive(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]bool{"live": true})
}

// oipReady is GET /v2/health/ready: 200 while the server takes requests,
// 503 once shutdown has begun.
func (s *Server) oipReady(w http.ResponseWriter, r *http.Request) {
	status := http.StatusOK
	if !s.Ready() {
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, map[string]bool{"ready": s.Ready()})
}

// oipModelMetadata is GET /v2/models/{name}.
func (s *Server) oipModelMetadata(w http.ResponseWriter, r *http.Request) {
	sv, e := s.lookup(r)
	if e != nil {
		s.writeError(w, r, e)
		return
	}
	type meta struct {
		Name     string `json:"name"`
		Datatype string `json:"datatype"`
		Shape    []int  `json:"shape"`
	}
	outs := []meta{}
	for _, o := range oipOutputs {
		outs = append(outs, meta{o.name, o.datatype, []int{-1}})
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"name":     sv.Name,
		"versions": []string{},
		"platform": "trm",
		"inputs":   []meta{{"text", "BYTES", []int{-1}}},
		"outputs":  outs,
	})
}

// oipModelReady is GET /v2/models/{name}/ready.
func (s *Server) oipModelReady(w http.ResponseWriter, r *http.Request) {
	sv, e := s.lookup(r)
	if e != nil {
		s.writeError(w, r, e)
		return
	}
	status := http.StatusOK
	if !s.Ready() {
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, map[string]any{"name": sv.Name, "ready": s.Ready()})
}

// oipInfer is POST /v2/models/{name}/infer: a BYTES tensor "text" of shape
// [N] in; BYTES "answer", FP32 "confidence" and INT32 "steps" of shape [N]
// out. Request parameters "halt" and "max_steps" are as in the native API.
func (s *Server) oipInfer(w http.ResponseWriter, r *http.Request) {
	var req oipInferRequest
	sv, ok := s.begin(w, r, "v2", &req)
	if !ok {
		return
	}
	if len(req.Inputs) != 1 || req.Inputs[0].Name != "text" {
		names := []string{}
		for _, in := range req.Inputs {
			names = append(names, in.Name)
		}
		s.writeError(w, r, fieldError("inputs", "inputs %q: want exactly one input tensor, named \"text\"", names))
		return
	}
	in := req.Inputs[0]
	switch {
	case in.Datatype != "BYTES":
		s.writeError(w, r, fieldError("inputs[0].datatype", "input \"text\" has datatype %q, want \"BYTES\"", in.Datatype))
		return
	case len(in.Shape) != 1 || in.Shape[0] != len(in.Data):
		s.writeError(w, r, fieldError("inputs[0].shape", "input \"text\" has shape %v and %d data elements, want shape [%d]", in.Shape, len(in.Data), len(in.Data)))
		return
	}
	want := map[string]bool{}
	for _, o := range req.Outputs {
		if !slices.ContainsFunc(oipOutputs, func(x struct{ name, datatype string }) bool { return x.name == o.Name }) {
			s.writeError(w, r, fieldError("outputs", "requested output %q, this model has \"answer\", \"confidence\" and \"steps\"", o.Name))
			return
		}
		want[o.Name] = true
	}
	halt, maxSteps := "", 0
	if p := req.Parameters; p != nil {
		halt, maxSteps = p.Halt, p.MaxSteps
	}
	info(r).inputs = len(in.Data)
	outs, e := s.answer(r, sv, "inputs[0].data", in.Data, halt, "parameters.halt", maxSteps, "parameters.max_steps", false)
	if e != nil {
		if e.status != statusClientGone {
			s.writeError(w, r, e)
		}
		return
	}
	n := len(outs)
	answers, confs, steps := make([]string, n), make([]float32, n), make([]int32, n)
	for i, o := range outs {
		answers[i], confs[i], steps[i] = o.Answer, float32(o.Confidence), int32(o.Steps)
	}
	data := map[string]any{"answer": answers, "confidence": confs, "steps": steps}
	resp := struct {
		ModelName string      `json:"model_name"`
		ID        string      `json:"id,omitempty"`
		Outputs   []oipTensor `json:"outputs"`
	}{ModelName: sv.Name, ID: req.ID}
	for _, o := range oipOutputs {
		if len(want) > 0 && !want[o.name] {
			continue
		}
		resp.Outputs = append(resp.Outputs, oipTensor{Name: o.name, Shape: []int{n}, Datatype: o.datatype, Data: data[o.name]})
	}
	writeJSON(w, http.StatusOK, resp)
}
