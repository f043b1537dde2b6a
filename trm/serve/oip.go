package serve

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
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
// Parameters are open key/value pairs, as the protocol defines them: the
// known ones ("halt", "max_steps") are checked, others (content_type,
// binary_data_output, ...) are ignored, at every level.
type oipInferRequest struct {
	ID         string                     `json:"id,omitempty"`
	Parameters map[string]json.RawMessage `json:"parameters,omitempty"`
	Inputs     []struct {
		Name       string         `json:"name"`
		Shape      []int          `json:"shape"`
		Datatype   string         `json:"datatype"`
		Parameters map[string]any `json:"parameters,omitempty"`
		// Data is row-major flattened or nested to match Shape.
		Data json.RawMessage `json:"data"`
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
		"versions": []string{modelVersion},
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

// oipInfer is POST /v2/models/{name}/infer: a BYTES tensor "text" of any
// shape in (one input per element, [N] usually); BYTES "answer", FP32
// "confidence" and INT32 "steps" of the same shape out, row-major
// flattened. Request parameters "halt" and "max_steps" are as in the
// native API.
func (s *Server) oipInfer(w http.ResponseWriter, r *http.Request) {
	var req oipInferRequest
	sv, ok := s.begin(w, r, "v2", &req)
	if !ok {
		return
	}
	if len(req.Inputs) != 1 || req.Inputs[0].Name != "text" {
		names := make([]string, 0, min(len(req.Inputs), 4))
		for i, in := range req.Inputs {
			if i == 3 {
				names = append(names, fmt.Sprintf("and %d more", len(req.Inputs)-3))
				break
			}
			names = append(names, clip(in.Name))
		}
		s.writeError(w, r, fieldError("inputs", "inputs [%s]: want exactly one input tensor, named \"text\"", strings.Join(names, " ")))
		return
	}
	in := req.Inputs[0]
	if in.Datatype != "BYTES" {
		s.writeError(w, r, fieldError("inputs[0].datatype", "input \"text\" has datatype %s, want \"BYTES\"", clip(in.Datatype)))
		return
	}
	texts, e := s.oipTexts(in.Shape, in.Data)
	if e != nil {
		s.writeError(w, r, e)
		return
	}
	want := map[string]bool{}
	for _, o := range req.Outputs {
		if !slices.ContainsFunc(oipOutputs, func(x struct{ name, datatype string }) bool { return x.name == o.Name }) {
			s.writeError(w, r, fieldError("outputs", "requested output %s, this model has \"answer\", \"confidence\" and \"steps\"", clip(o.Name)))
			return
		}
		want[o.Name] = true
	}
	var (
		halt     string
		maxSteps int
	)
	if e := oipParameter(req.Parameters, "halt", &halt, "a string"); e != nil {
		s.writeError(w, r, e)
		return
	}
	if e := oipParameter(req.Parameters, "max_steps", &maxSteps, "a whole number"); e != nil {
		s.writeError(w, r, e)
		return
	}
	info(r).inputs = len(texts)
	outs, e := s.answer(r, sv, "inputs[0].data", texts, halt, "parameters.halt", maxSteps, "parameters.max_steps", false)
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
		ModelName    string      `json:"model_name"`
		ModelVersion string      `json:"model_version"`
		ID           string      `json:"id,omitempty"`
		Outputs      []oipTensor `json:"outputs"`
	}{ModelName: sv.Name, ModelVersion: modelVersion, ID: req.ID}
	for _, o := range oipOutputs {
		if len(want) > 0 && !want[o.name] {
			continue
		}
		resp.Outputs = append(resp.Outputs, oipTensor{Name: o.name, Shape: in.Shape, Datatype: o.datatype, Data: data[o.name]})
	}
	writeJSON(w, http.StatusOK, resp)
}

// oipParameter decodes the request parameter name, when present, into
// dst (a string or an int; want says which, for the error).
func oipParameter(params map[string]json.RawMessage, name string, dst any, want string) *apiError {
	raw, ok := params[name]
	if !ok {
		return nil
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		return fieldError("parameters."+name, "parameters.%s is %s, want %s", name, jsonPhrase(describeJSON(raw)), want)
	}
	return nil
}

// maxRank is the most sizes an input's shape may have.
const maxRank = 16

// oipTexts returns the texts of the input tensor "text" of the given shape,
// its data row-major flattened or nested to match the shape (the protocol
// allows both), at most MaxInputs of them.
func (s *Server) oipTexts(shape []int, data json.RawMessage) ([]string, *apiError) {
	const field = "inputs[0].shape"
	if len(shape) == 0 || len(shape) > maxRank {
		return nil, fieldError(field, "input \"text\" has shape %s, want 1 to %d sizes ([N] for N texts)", shapeString(shape), maxRank)
	}
	n := 1
	for _, d := range shape {
		if d < 0 {
			return nil, fieldError(field, "input \"text\" has shape %s, want sizes ≥ 0", shapeString(shape))
		}
		if d > 0 && n > s.opts.MaxInputs/d {
			return nil, fieldError(field, "input \"text\" has shape %s: more than %d inputs, want at most %d per request (the server's --max-inputs)", shapeString(shape), s.opts.MaxInputs, s.opts.MaxInputs)
		}
		n *= d
	}
	if len(data) == 0 {
		return nil, fieldError("inputs[0].data", "input \"text\" has no data, want %d strings", n)
	}
	texts := make([]string, 0, n)
	if e := collectTexts(data, shape, "inputs[0].data", &texts); e != nil {
		return nil, e
	}
	return texts, nil
}

// collectTexts appends the strings of data, a JSON array holding the
// elements of a tensor of the shape flattened, or shape[0] arrays nested
// in turn, to texts. path names data in errors.
func collectTexts(data json.RawMessage, shape []int, path string, texts *[]string) *apiError {
	var elems []json.RawMessage
	if err := json.Unmarshal(data, &elems); err != nil {
		return fieldError("inputs[0].data", "%s is %s, want an array", path, jsonPhrase(describeJSON(data)))
	}
	n := 1
	for _, d := range shape {
		n *= d
	}
	nested := len(elems) > 0 && firstByte(elems[0]) == '['
	switch {
	case nested && len(shape) == 1:
		return fieldError("inputs[0].data", "%s[0] is an array, but the shape is %s: want strings", path, shapeString(shape))
	case nested && len(elems) != shape[0]:
		return fieldError("inputs[0].data", "%s has %d arrays, want %d, nested as the shape %s says, or %d strings flattened",
			path, len(elems), shape[0], shapeString(shape), n)
	case nested:
		for i, el := range elems {
			if e := collectTexts(el, shape[1:], fmt.Sprintf("%s[%d]", path, i), texts); e != nil {
				return e
			}
		}
		return nil
	case len(elems) != n && path != "inputs[0].data":
		return fieldError("inputs[0].data", "%s holds %d elements, want %d as the shape says", path, len(elems), n)
	case len(elems) != n:
		return fieldError("inputs[0].shape", "input \"text\" has shape %s (%d elements) but %s holds %d: send shape [%d], or data row-major flattened or nested to match the shape",
			shapeString(shape), n, path, len(elems), len(elems))
	}
	for i, el := range elems {
		var text string
		if err := json.Unmarshal(el, &text); err != nil {
			return fieldError("inputs[0].data", "%s[%d] is %s, want a string", path, i, jsonPhrase(describeJSON(el)))
		}
		*texts = append(*texts, text)
	}
	return nil
}

// firstByte returns the first byte of JSON text that is not a space, or 0.
func firstByte(raw json.RawMessage) byte {
	for _, c := range raw {
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		}
		return c
	}
	return 0
}

// describeJSON describes a JSON value as encoding/json's errors do: its
// kind, and the value itself for numbers and booleans ("number 7"), for
// jsonPhrase to clip.
func describeJSON(raw json.RawMessage) string {
	switch c := firstByte(raw); {
	case c == '"':
		return "string"
	case c == '[':
		return "array"
	case c == '{':
		return "object"
	case c == 'n':
		return "null"
	case c == 't' || c == 'f':
		return "boolean " + string(bytes.TrimSpace(raw))
	}
	return "number " + string(bytes.TrimSpace(raw))
}

// shapeString writes a shape as [2 3], at most 8 sizes of it.
func shapeString(shape []int) string {
	if len(shape) > 8 {
		return fmt.Sprintf("%v… (%d sizes)", shape[:8], len(shape))
	}
	return fmt.Sprint(shape)
}
