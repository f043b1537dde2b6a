package serve

import (
	"context"
	"net/http"

	"github.com/trm-go/trm/trm"
	"github.com/trm-go/trm/trm/task"
)

// PredictRequest is the body of POST /v1/models/{name}/predict.
type PredictRequest struct {
	// Inputs are the texts to answer, e.g. "3 + 7" or a Sudoku's cells.
	Inputs []string `json:"inputs"`
	// Halt is "early" (stop an input at its first q_halt > 0) or "full"
	// (always max_steps steps); absent: the server's default (Options.Halt,
	// early unless set).
	Halt string `json:"halt,omitempty"`
	// MaxSteps caps the supervision steps, 1 to the model's N_sup
	// (0 or absent: N_sup).
	MaxSteps int `json:"max_steps,omitempty"`
	// Trace asks for the answer and q_halt after every step.
	Trace bool `json:"trace,omitempty"`
}

// PredictResponse is the answer to a PredictRequest.
type PredictResponse struct {
	Model   string   `json:"model"`
	Outputs []Output `json:"outputs"`
}

// Output is the answer to one input.
type Output struct {
	// Answer is the decoded answer alone: the sum's digits, a grid's cells
	// on one line ('.' for blank), as task.AnswerText gives it.
	Answer string `json:"answer"`
	// Steps is the number of supervision steps run.
	Steps int `json:"steps"`
	// Confidence is sigmoid(q_halt) after the last step: the model's own
	// estimate that the answer is exactly right.
	Confidence float64 `json:"confidence"`
	// QHalt is the halting logit after the last step (> 0: halt).
	QHalt float32 `json:"q_halt"`
	// Valid says whether the answer is correct, judged from the input by
	// the task (a Sudoku solved by the rules, a shortest maze path, the
	// true sum); null where the task cannot tell.
	Valid *bool `json:"valid"`
	// Trace holds every step when the request asked for it.
	Trace []TraceStep `json:"trace,omitempty"`
}

// TraceStep is an input's state after one supervision step.
type TraceStep struct {
	Step       int     `json:"step"`
	Answer     string  `json:"answer"`
	QHalt      float32 `json:"q_halt"`
	Confidence float64 `json:"confidence"`
}

// ModelInfo describes a served model (GET /v1/models).
type ModelInfo struct {
	Name        string       `json:"name"`
	Task        string       `json:"task"`
	TaskOptions task.Options `json:"task_options"`
	Source      string       `json:"source,omitempty"`
	MaxSteps    int          `json:"max_steps"`
	// Parameters is trm.ModelConfig.ParamCount: the trained parameters
	// (without the y_init/z_init buffers), the count README states.
	Parameters int64           `json:"parameters"`
	Ready      bool            `json:"ready"`
	Config     trm.ModelConfig `json:"config"`
	// Example is an input the model's task accepts (a test-split one), to
	// show what inputs look like.
	Example string `json:"example,omitempty"`
	// Grid is the layout of the answer's cells for grid tasks (Sudoku,
	// maze), nil otherwise.
	Grid *GridInfo `json:"grid,omitempty"`
}

// GridInfo is the layout of a grid task's answer: Rows × Cols cells, row by
// row, in boxes of BoxRows × BoxCols for Sudoku.
type GridInfo struct {
	Kind    string `json:"kind"` // "sudoku" or "maze"
	Rows    int    `json:"rows"`
	Cols    int    `json:"cols"`
	BoxRows int    `json:"box_rows,omitempty"`
	BoxCols int    `json:"box_cols,omitempty"`
}

// gridOf returns the answer layout of a grid task, or nil.
func gridOf(t task.Task) *GridInfo {
	switch t := t.(type) {
	case *task.Sudoku:
		sh := t.Shape()
		return &GridInfo{Kind: "sudoku", Rows: sh.Size(), Cols: sh.Size(), BoxRows: sh.BoxRows, BoxCols: sh.BoxCols}
	case *task.Maze:
		return &GridInfo{Kind: "maze", Rows: t.Size(), Cols: t.Size()}
	}
	return nil
}

// exampleOf returns a test-split input of t as text, or "" when the task
// cannot give one (a dataset file that is missing, say).
func exampleOf(t task.Task) string {
	ex, err := task.Labeled(t, task.SplitTest, 0, 0)
	if err != nil {
		return ""
	}
	return t.Format(ex)
}

func (s *Server) modelInfo(sv *served) ModelInfo {
	return ModelInfo{
		Name: sv.Name, Task: sv.Task.Name(), TaskOptions: sv.Task.Options(), Source: sv.Source,
		MaxSteps: sv.Model.Model.Config.HaltMaxSteps, Parameters: sv.Model.Model.Config.ParamCount(), Ready: s.Ready(), Config: sv.Model.Model.Config,
		Example: sv.example, Grid: gridOf(sv.Task),
	}
}

// listModels is GET /v1/models.
func (s *Server) listModels(w http.ResponseWriter, r *http.Request) {
	out := struct {
		Models []ModelInfo `json:"models"`
	}{Models: []ModelInfo{}}
	for _, name := range s.names {
		out.Models = append(out.Models, s.modelInfo(s.models[name]))
	}
	writeJSON(w, http.StatusOK, out)
}

// getModel is GET /v1/models/{name}.
func (s *Server) getModel(w http.ResponseWriter, r *http.Request) {
	sv, e := s.lookup(r)
	if e != nil {
		s.writeError(w, r, e)
		return
	}
	writeJSON(w, http.StatusOK, s.modelInfo(sv))
}

// predict is POST /v1/models/{name}/predict.
func (s *Server) predict(w http.ResponseWriter, r *http.Request) {
	var req PredictRequest
	sv, ok := s.begin(w, r, "v1", &req)
	if !ok {
		return
	}
	info(r).inputs = len(req.Inputs)
	outs, e := s.answer(r, sv, "inputs", req.Inputs, req.Halt, "halt", req.MaxSteps, "max_steps", req.Trace)
	if e != nil {
		if e.status != statusClientGone {
			s.writeError(w, r, e)
		}
		return
	}
	writeJSON(w, http.StatusOK, PredictResponse{Model: sv.Name, Outputs: outs})
}

// begin is the start of a predict or infer request of api ("v1", "v2"):
// it finds the model and reads the body into req, and otherwise writes the
// error and returns false.
func (s *Server) begin(w http.ResponseWriter, r *http.Request, api string, req any) (*served, bool) {
	info(r).api = api
	sv, e := s.lookup(r)
	if e == nil {
		e = decodeJSON(w, r, s.opts.MaxBody, s.opts.BodyTimeout, req)
		received(r)
	}
	if e != nil {
		s.writeError(w, r, e)
		return nil, false
	}
	return sv, true
}

// answer checks and encodes the inputs and options of a request (the
// field names are the API's, for errors), runs them and decodes the
// answers in input order.
func (s *Server) answer(r *http.Request, sv *served, inputsField string, inputs []string,
	haltName, haltField string, maxSteps int, stepsField string, trace bool) ([]Output, *apiError) {
	switch {
	case len(inputs) == 0:
		return nil, fieldError(inputsField, "%s is missing or empty, want 1 to %d input texts", inputsField, s.opts.MaxInputs)
	case len(inputs) > s.opts.MaxInputs:
		return nil, fieldError(inputsField, "%d inputs, want at most %d per request (the server's --max-inputs)", len(inputs), s.opts.MaxInputs)
	}
	halt := s.opts.Halt
	if haltName != "" {
		var err error
		if halt, err = trm.ParseHaltMode(haltName); err != nil {
			return nil, fieldError(haltField, "%s %s, want %q or %q", haltField, clip(haltName), trm.HaltFull, trm.HaltEarly)
		}
	}
	nsup := sv.Model.Model.Config.HaltMaxSteps
	switch {
	case maxSteps == 0:
		maxSteps = nsup
	case maxSteps < 0 || maxSteps > nsup:
		return nil, fieldError(stepsField, "%s %d, want 1 to %d (the model's N_sup), or 0 for %d", stepsField, maxSteps, nsup, nsup)
	}
	exs := make([]task.Example, len(inputs))
	for i, text := range inputs {
		ex, err := sv.Task.Encode(text)
		if err == nil {
			err = task.CheckExample(sv.Task, ex)
		}
		if err != nil {
			return nil, inputError(inputsField, i, text, err)
		}
		exs[i] = ex
	}
	s.metrics.inflight.Inc()
	defer s.metrics.inflight.Dec()
	ctx, cancel := context.WithTimeout(r.Context(), s.opts.Timeout)
	defer cancel()
	j := newJob(ctx, exs, halt, maxSteps, trace)
	if e := s.run(r, sv, j); e != nil {
		return nil, e
	}
	outs := make([]Output, len(j.items))
	for i := range j.items {
		it := &j.items[i]
		ans, err := task.AnswerText(sv.Task, it.ex, it.tokens)
		if err != nil {
			return nil, errorf(http.StatusInternalServerError, codeInternal, "decoding the answer to %s[%d]: %v", inputsField, i, err)
		}
		o := Output{Answer: ans, Steps: it.steps, QHalt: it.qHalt, Confidence: confidence(it.qHalt)}
		if valid, known := task.CheckAnswer(sv.Task, it.ex, it.tokens); known {
			o.Valid = &valid
		}
		for k, st := range it.trace {
			a, err := task.AnswerText(sv.Task, it.ex, st.tokens)
			if err != nil {
				return nil, errorf(http.StatusInternalServerError, codeInternal, "decoding step %d of %s[%d]: %v", k+1, inputsField, i, err)
			}
			o.Trace = append(o.Trace, TraceStep{Step: k + 1, Answer: a, QHalt: st.qHalt, Confidence: confidence(st.qHalt)})
		}
		outs[i] = o
	}
	return outs, nil
}
