package serve

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// apiError is a refused or failed request: the HTTP status and what the
// client needs to fix it. The native API sends it as
//
//	{"error": {"code": "bad_field", "message": "...", "field": "max_steps"}}
//
// and the Open Inference Protocol as {"error": "<message>"}.
type apiError struct {
	status  int
	Code    string `json:"code"`
	Message string `json:"message"`
	// Field names the request field at fault, when one is.
	Field string `json:"field,omitempty"`
	// Index is the position (from 0) of the input at fault, when one is.
	Index *int `json:"index,omitempty"`
	// retryAfter, in seconds, is sent as Retry-After (429, 503).
	retryAfter int
}

func (e *apiError) Error() string { return e.Message }

// The error codes of the native API.
const (
	codeBadJSON       = "bad_json"
	codeBadField      = "bad_field"
	codeBadInput      = "bad_input"
	codeUnknownModel  = "unknown_model"
	codeNotFound      = "not_found"
	codeMethod        = "method_not_allowed"
	codeTooLarge      = "body_too_large"
	codeQueueFull     = "queue_full"
	codeTimeout       = "deadline_exceeded"
	codeShuttingDown  = "shutting_down"
	codeInternal      = "internal"
	codeClientGone    = "client_closed_request"
	statusClientGone  = 499 // nginx's code for a client that went away; logged, never sent
	defaultRetryAfter = 1
)

func errorf(status int, code, format string, args ...any) *apiError {
	return &apiError{status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// fieldError is a 400 naming a request field.
func fieldError(field, format string, args ...any) *apiError {
	e := errorf(http.StatusBadRequest, codeBadField, format, args...)
	e.Field = field
	return e
}

// inputError is a 400 naming an input by its index.
func inputError(field string, i int, err error) *apiError {
	e := errorf(http.StatusBadRequest, codeBadInput, "%s[%d]: %v", field, i, err)
	e.Field, e.Index = field, &i
	return e
}

// decodeJSON reads the request body, at most maxBody bytes, as one JSON
// value into dst, refusing unknown fields and trailing data; the error says
// what was wrong and where.
func decodeJSON(w http.ResponseWriter, r *http.Request, maxBody int64, dst any) *apiError {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	err := dec.Decode(dst)
	if err == nil {
		if _, terr := dec.Token(); terr != io.EOF {
			err = errTrailing
			if terr != nil && !isSyntax(terr) {
				err = terr
			}
		}
	}
	if err == nil {
		return nil
	}
	var (
		tooBig *http.MaxBytesError
		syn    *json.SyntaxError
		typ    *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &tooBig):
		return errorf(http.StatusRequestEntityTooLarge, codeTooLarge, "request body over %d bytes (the server's --max-body)", tooBig.Limit)
	case errors.Is(err, io.EOF):
		return errorf(http.StatusBadRequest, codeBadJSON, "empty request body, want a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errorf(http.StatusBadRequest, codeBadJSON, "malformed JSON: the body ends before the JSON value does")
	case errors.As(err, &syn):
		return errorf(http.StatusBadRequest, codeBadJSON, "malformed JSON at byte %d: %v", syn.Offset, syn)
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			return errorf(http.StatusBadRequest, codeBadJSON, "the body is a JSON %s, want a JSON object", typ.Value)
		}
		return fieldError(field, "field %q is a JSON %s, want %s", field, typ.Value, jsonKind(typ.Type.String()))
	case errors.Is(err, errTrailing):
		return errorf(http.StatusBadRequest, codeBadJSON, "data after the JSON object, want exactly one object")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return fieldError(name, "unknown field %q", name)
	}
	return errorf(http.StatusBadRequest, codeBadJSON, "reading the request: %v", err)
}

var errTrailing = errors.New("trailing data")

func isSyntax(err error) bool {
	var syn *json.SyntaxError
	return errors.As(err, &syn)
}

// jsonKind names the JSON a Go type decodes from.
func jsonKind(goType string) string {
	switch {
	case goType == "string":
		return "a string"
	case goType == "bool":
		return "true or false"
	case strings.HasPrefix(goType, "int"), strings.HasPrefix(goType, "float"), strings.HasPrefix(goType, "uint"):
		return "a number"
	case goType == "[]string":
		return "an array of strings"
	case strings.HasPrefix(goType, "[]"):
		return "an array"
	}
	return "an object"
}
