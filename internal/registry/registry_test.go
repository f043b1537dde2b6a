package registry

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRegistry(t *testing.T) {
	r := New[int]("widget")
	r.Register("b", "the second", 2)
	r.Register("a", "the first", 1)
	v, err := r.Lookup("a")
	require.NoError(t, err)
	assert.Equal(t, 1, v)
	assert.Equal(t, []string{"a", "b"}, r.Names())
	assert.Equal(t, "the second", r.Doc("b"))
	assert.Equal(t, "", r.Doc("c"))
	_, err = r.Lookup("c")
	assert.EqualError(t, err, `unknown widget "c", want one of a, b`)
	assert.PanicsWithValue(t, `registry: widget "a" registered twice`, func() { r.Register("a", "", 3) })
	assert.PanicsWithValue(t, "registry: a widget with an empty name", func() { r.Register("", "", 3) })
}
