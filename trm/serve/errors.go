package serve

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
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
	codeBodyTimeout   = "body_timeout"
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

// inputError is a 400 naming an input by its index; text is the input,
// which the message quotes clipped (see clip) where err quotes it whole.
func inputError(field string, i int, text string, err error) *apiError {
	msg := err.Error()
	if len(text) > clipLen {
		msg = strings.ReplaceAll(msg, strconv.Quote(text), clip(text))
		msg = strings.ReplaceAll(msg, text, clipValue(text))
		msg = clipWords(msg) // a part of it: an operand, a line
	}
	e := errorf(http.StatusBadRequest, codeBadInput, "%s[%d]: %s", field, i, msg)
	e.Field, e.Index = field, &i
	return e
}

// decodeJSON reads the request body, at most maxBody bytes, as one JSON
// value into dst, refusing unknown fields and trailing data; the error says
// what was wrong and where. A body that stops arriving before the read
// deadline (Options.BodyTimeout, set by logged), or whose connection was
// evicted (see Options.MaxConns), is a 408.
func decodeJSON(w http.ResponseWriter, r *http.Request, maxBody int64, bodyTimeout time.Duration, dst any) *apiError {
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
	if after, ok := evicted(r); ok {
		return errorf(http.StatusRequestTimeout, codeBodyTimeout, "the request was still arriving after %v while the server had all its connections open (--max-conns): its connection was closed for others", after)
	}
	switch {
	case errors.As(err, &tooBig):
		return errorf(http.StatusRequestEntityTooLarge, codeTooLarge, "request body over %d bytes (the server's --max-body)", tooBig.Limit)
	case errors.Is(err, os.ErrDeadlineExceeded):
		return errorf(http.StatusRequestTimeout, codeBodyTimeout, "the request body did not arrive within the server's body timeout of %v (--body-timeout)", bodyTimeout)
	case errors.Is(err, io.EOF):
		return errorf(http.StatusBadRequest, codeBadJSON, "empty request body, want a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errorf(http.StatusBadRequest, codeBadJSON, "malformed JSON: the body ends before the JSON value does")
	case errors.As(err, &syn):
		return errorf(http.StatusBadRequest, codeBadJSON, "malformed JSON at byte %d: %v", syn.Offset, syn)
	case errors.As(err, &typ):
		field, value := typ.Field, jsonPhrase(typ.Value) // typ.Value: "string", "number 1e9"
		if field == "" {
			return errorf(http.StatusBadRequest, codeBadJSON, "the body is %s, want a JSON object", value)
		}
		want := jsonKind(typ.Type.String())
		if strings.HasPrefix(typ.Value, "number") && want == "a whole number" {
			// A number Go's decoder cannot put in an integer field:
			// a fraction, an exponent (1e9), or out of range.
			want = "a whole number written in digits alone, like 16"
		}
		return fieldError(field, "field %q is %s, want %s", clipValue(field), value, want)
	case errors.Is(err, errTrailing):
		return errorf(http.StatusBadRequest, codeBadJSON, "data after the JSON object, want exactly one object")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return fieldError(clipValue(name), "unknown field %s", clip(name))
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
	case strings.HasPrefix(goType, "int"), strings.HasPrefix(goType, "uint"):
		return "a whole number"
	case strings.HasPrefix(goType, "float"):
		return "a number"
	case goType == "[]string":
		return "an array of strings"
	case strings.HasPrefix(goType, "[]"):
		return "an array"
	}
	return "an object"
}

// jsonPhrase names a JSON value described as encoding/json does ("string",
// "number 1e9") for a message: "a JSON string", "the JSON number 1e9",
// the value clipped.
func jsonPhrase(desc string) string {
	if kind, v, ok := strings.Cut(desc, " "); ok {
		return "the JSON " + kind + " " + clipValue(v)
	}
	return "a JSON " + desc
}

// clipLen is the most bytes of a value an error message quotes.
const clipLen = 64

// clip returns s quoted as %q does, its first clipLen bytes only (cut at a
// character boundary) and a note of its length when it is longer: error
// messages name the value at fault without echoing a large input.
func clip(s string) string {
	if len(s) <= clipLen {
		return strconv.Quote(s)
	}
	return fmt.Sprintf("%s… (%d bytes)", strconv.Quote(s[:cutAt(s, clipLen)]), len(s))
}

// clipValue is s unquoted when it is at most clipLen bytes, else its first
// clipLen bytes and a note of its length.
func clipValue(s string) string {
	if len(s) <= clipLen {
		return s
	}
	return fmt.Sprintf("%s… (%d bytes)", s[:cutAt(s, clipLen)], len(s))
}

// cutAt returns the largest character boundary of s at most n.
func cutAt(s string, n int) int {
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return n
}

// clipWords returns msg with every run of over 2·clipLen bytes without a
// space cut as clipValue cuts a value.
func clipWords(msg string) string {
	var b strings.Builder
	for len(msg) > 0 {
		i := strings.IndexByte(msg, ' ')
		if i < 0 {
			i = len(msg)
		}
		if w := msg[:i]; len(w) > 2*clipLen {
			b.WriteString(clipValue(w))
		} else {
			b.WriteString(w)
		}
		if i < len(msg) {
			b.WriteByte(' ')
			i++
		}
		msg = msg[i:]
	}
	return b.String()
}

// maxMessage is the longest error message sent: messages quote values
// through clip, and this cuts whatever a library's error quoted whole.
const maxMessage = 1024

// cutMessage returns msg, cut to maxMessage bytes with a note when longer.
func cutMessage(msg string) string {
	if len(msg) <= maxMessage {
		return msg
	}
	return fmt.Sprintf("%s… (message cut; %d bytes)", msg[:cutAt(msg, maxMessage)], len(msg))
}
