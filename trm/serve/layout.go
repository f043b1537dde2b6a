package serve

import "github.com/trm-go/trm/trm"

// smallHidden is the hidden size below which a model's step is too small
// to share among workers: for the shipped 9×9 Sudoku model (hidden 64)
// two workers on one batch-1 step ran slower than one (51 against 79
// puzzles/s on two cores), while one single-worker loop per core doubles
// the throughput. See BENCHMARKS.md.
const smallHidden = 256

// Layout chooses how threads cores are used for models: workers per kernel
// call (tensor.SetWorkers) and batch loops per model. Small models (hidden
// size under 256) get one single-worker loop per thread, so light load
// already uses every core and a batch-1 step runs without synchronisation;
// when any model is larger, one loop per model uses every thread in each
// kernel call, for the lowest latency of a lone request.
func Layout(threads int, models []*trm.Model) (workers, loops int) {
	threads = max(threads, 1)
	for _, m := range models {
		if m.Config.HiddenSize >= smallHidden {
			return threads, 1
		}
	}
	return 1, threads
}
