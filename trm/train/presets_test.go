package train_test

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/trm-go/trm/trm/task"
	"github.com/trm-go/trm/trm/train"
)

func TestPresetsAreValid(t *testing.T) {
	for _, name := range train.PresetNames() {
		t.Run(name, func(t *testing.T) {
			c, err := train.Preset(name)
			require.NoError(t, err)
			require.NoError(t, c.Validate())
			// The preset's sizes fit its task (when the task is built in).
			if slices.Contains(task.Names(), c.Task) {
				_, err := c.NewTask()
				require.NoError(t, err)
			}
		})
	}
	_, err := train.Preset("sudoku-huge")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `unknown preset "sudoku-huge", want one of arith, sudoku`)
	a, err := train.Preset("arith")
	require.NoError(t, err)
	assert.True(t, train.DefaultConfig().Equal(a))
}
