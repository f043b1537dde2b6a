package task

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Options are a task's settings as strings (they come from flags and
// JSON), e.g. {"digits": "5"}.
type Options map[string]string

// Int returns option key as an integer in [lo, hi], or def when it is
// absent. The error names the task, the option and the range.
func (o Options) Int(task, key string, def, lo, hi int) (int, error) {
	s, ok := o[key]
	if !ok {
		return def, nil
	}
	v, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || v < lo || v > hi {
		return 0, fmt.Errorf("task %s: option %s=%q, want an integer in [%d, %d]", task, key, s, lo, hi)
	}
	return v, nil
}

// Bool returns option key as a boolean (true/false, 1/0), or def when it
// is absent. The error names the task, the option and what it wants.
func (o Options) Bool(task, key string, def bool) (bool, error) {
	s, ok := o[key]
	if !ok {
		return def, nil
	}
	v, err := strconv.ParseBool(strings.TrimSpace(s))
	if err != nil {
		return false, fmt.Errorf("task %s: option %s=%q, want true or false", task, key, s)
	}
	return v, nil
}

// CheckKnown returns an error naming the first option (in sorted order) not
// among known: a misspelt option must not be silently ignored.
func (o Options) CheckKnown(task string, known ...string) error {
	keys := make([]string, 0, len(o))
	for k := range o {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !slices.Contains(known, k) {
			want := "none"
			if len(known) > 0 {
				want = strings.Join(known, ", ")
			}
			return fmt.Errorf("task %s: unknown option %q (known: %s)", task, k, want)
		}
	}
	return nil
}

// ParseOptions parses "key=value" pairs (the CLI's --opt flags).
func ParseOptions(pairs []string) (Options, error) {
	o := Options{}
	for _, p := range pairs {
		k, v, ok := strings.Cut(p, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, fmt.Errorf("task option %q, want key=value", p)
		}
		o[k] = strings.TrimSpace(v)
	}
	return o, nil
}

// Clone returns a copy of o (nil for nil).
func (o Options) Clone() Options {
	if o == nil {
		return nil
	}
	out := make(Options, len(o))
	for k, v := range o {
		out[k] = v
	}
	return out
}

// String renders the options as "blanks=40, size=9", keys in order, or ""
// when there are none.
func (o Options) String() string {
	keys := make([]string, 0, len(o))
	for k := range o {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + o[k]
	}
	return strings.Join(parts, ", ")
}
