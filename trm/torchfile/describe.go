package torchfile

import (
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/nlpodyssey/gopickle/types"
)

// maxQuoted is how much of a string an error message quotes.
const maxQuoted = 64

// describe names an unpickled value for an error message in a bounded
// number of bytes: a scalar or a short string by its value, a container
// by its type and length ("a list of 1048576 items"), a tuple of at most
// MaxDims scalars (a shape) by its items. The value comes from the file:
// printing it whole could take gigabytes.
func describe(v any) string { return describeDepth(v, 0) }

func describeDepth(v any, depth int) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case bool:
		if x {
			return "True"
		}
		return "False"
	case int:
		return strconv.Itoa(x)
	case *big.Int:
		if x.BitLen() <= 64 {
			return x.String()
		}
		return fmt.Sprintf("an integer of %d bits", x.BitLen())
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case string:
		return quote(x)
	case *types.Tuple:
		if depth > 0 || x.Len() > MaxDims {
			return fmt.Sprintf("a tuple of %d items", x.Len())
		}
		parts := make([]string, x.Len())
		for i := range parts {
			parts[i] = describeDepth(x.Get(i), depth+1)
		}
		if len(parts) == 1 {
			return "(" + parts[0] + ",)"
		}
		return "(" + strings.Join(parts, ", ") + ")"
	case *types.List:
		return fmt.Sprintf("a list of %d items", x.Len())
	case *types.Dict:
		return fmt.Sprintf("a dict of %d items", x.Len())
	case *types.OrderedDict:
		return fmt.Sprintf("an OrderedDict of %d items", x.Len())
	case *types.OrderedDictClass:
		return "the class collections.OrderedDict"
	case storageClass:
		return "the class torch." + x.name
	case rebuildTensor:
		return "the function torch._utils._rebuild_tensor_v2"
	case rebuildParameter:
		return "the function torch._utils._rebuild_parameter"
	case *storageRef:
		return fmt.Sprintf("a storage (data/%s)", x.key)
	case *tensorRef:
		return "a tensor"
	}
	return fmt.Sprintf("a value of type %T", v)
}

// quote quotes s, or its first maxQuoted bytes and its length.
func quote(s string) string {
	if len(s) <= maxQuoted {
		return strconv.Quote(s)
	}
	return fmt.Sprintf("%s… (a string of %d bytes)", strconv.Quote(s[:runeCut(s, maxQuoted)]), len(s))
}

// runeCut returns n, or less so as not to cut a UTF-8 sequence of s in
// two (invalid UTF-8 is cut anywhere).
func runeCut(s string, n int) int {
	for k := n; k > 0 && k > n-utf8.UTFMax; k-- {
		if utf8.RuneStart(s[k]) {
			return k
		}
	}
	return n
}

// oneLine bounds a message that may hold text from the file (a panic
// value): one line of at most 200 bytes.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 200 {
		s = s[:runeCut(s, 200)] + "…"
	}
	return s
}
