package serve_test

import (
	"encoding/json"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/trm-go/trm/checkpoints"
	"github.com/trm-go/trm/trm/infer"
	"github.com/trm-go/trm/trm/serve"
)

// Serve the shipped arith model and ask it a sum over HTTP. In a program,
// srv.Serve(ctx, listener, drainTime) runs the listener and the graceful
// shutdown; here a test server stands in.
func ExampleNew() {
	data, _ := checkpoints.Lookup("arith")
	p, err := infer.DecodePredictor(data, "embedded:arith")
	if err != nil {
		log.Fatal(err)
	}
	srv, err := serve.New([]serve.Model{{Name: "arith", Model: p.Model, Task: p.Task}},
		serve.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()

	resp, err := http.Post(ts.URL+"/v1/models/arith/predict", "application/json",
		strings.NewReader(`{"inputs": ["3 + 7", "48213 + 99999"], "halt": "full"}`))
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Outputs []serve.Output `json:"outputs"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		log.Fatal(err)
	}
	for _, o := range out.Outputs {
		fmt.Println(o.Answer, o.Steps, *o.Valid)
	}
	// Output:
	// 10 4 true
	// 148212 4 true
}
