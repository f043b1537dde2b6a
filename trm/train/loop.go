package train

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/trm-go/trm/trm"
	"github.com/trm-go/trm/trm/infer"
	"github.com/trm-go/trm/trm/task"
)

// TrainOptions are the settings of a training run that are not part of the
// model's Config.
type TrainOptions struct {
	// Mode is ModeCarry (default) or ModeExplicit.
	Mode TrainMode
	// Dir is the run folder (see Run): config.json, model.safetensors (EMA
	// weights), train_state.safetensors and metrics.jsonl. "" keeps nothing
	// on disk.
	Dir string
	// Resume continues the run saved in Dir, bit-identically to a run that
	// was never stopped, from the last save (a crash during a save loses at
	// most that save; see Run). The config must equal the saved one except
	// for train_steps and the log/eval/checkpoint intervals. Lines of
	// metrics.jsonl logged after the last save are dropped: the resumed run
	// logs those steps again.
	Resume bool
	// Force starts a new run in a Dir that already holds one, deleting its
	// files; without it (and without Resume) such a Dir is an error. It
	// never takes a folder that another trainer holds (see Run.Lock).
	Force bool
	// EvalExamples is the number of test examples of each periodic
	// evaluation (0: infer.DefaultEvalExamples).
	EvalExamples int
	// Out, when set, receives the progress: a bar when Progress is set
	// (Out is a terminal), log lines otherwise. The metrics of every
	// logged step and evaluation also go to <Dir>/metrics.jsonl.
	Out      io.Writer
	Progress bool
	// Log, when set, receives the metrics of every logged step (every
	// log_interval steps and the last one).
	Log func(TrainStats)
	// EvalLog, when set, receives each periodic evaluation.
	EvalLog func(step int64, r *infer.EvalResult)
}

// TrainResult is what Train returns.
type TrainResult struct {
	// Trainer holds the final model (training weights; see
	// Trainer.Checkpoint for the EMA weights) and its state.
	Trainer *Trainer
	// Last is the metrics of the last logged steps.
	Last TrainStats
	// Eval is the last evaluation (nil if none ran).
	Eval *infer.EvalResult
}

// Train trains a model of cfg for cfg.TrainSteps optimizer steps (counting
// the steps of a resumed run), logging every cfg.LogInterval steps,
// evaluating every cfg.EvalInterval steps and saving every
// cfg.CheckpointInterval steps and at the end when opts.Dir is set. When
// ctx is cancelled it saves and returns ctx.Err() with the result so far.
// The same config, data and options give bit-identical weights, and so
// does a run stopped and resumed.
//
// Train holds the run folder's lock (Run.Lock) throughout: while another
// trainer holds opts.Dir it returns at once an error matching ErrLocked
// that names the folder and the holder's process, and changes nothing,
// with Resume or Force as without.
func Train(ctx context.Context, cfg trm.Config, opts TrainOptions) (*TrainResult, error) {
	var (
		tr  *Trainer
		err error
	)
	run := Run{Dir: opts.Dir}
	if opts.Resume && opts.Dir == "" {
		return nil, errors.New("train: resume needs a run folder")
	}
	if opts.Dir != "" {
		// Before anything looks at the folder, let alone clears it
		// (--force): one trainer per folder.
		lock, lerr := run.Lock()
		if lerr != nil {
			return nil, lerr
		}
		defer lock.Unlock() // the system drops the lock at exit anyway
	}
	switch {
	case opts.Resume:
		if err := run.Clean(); err != nil {
			return nil, err
		}
		if tr, err = ResumeTrainer(opts.Dir, cfg, opts.Mode); err == nil {
			err = TruncateMetrics(run.MetricsPath(), tr.step)
		}
	case opts.Dir != "" && run.Exists() && !opts.Force:
		return nil, fmt.Errorf("train: %s already holds a run: resume it, choose another folder, or force a new run over it (its files are deleted)", opts.Dir)
	default:
		tr, err = NewTrainer(cfg, opts.Mode)
		if err == nil && opts.Dir != "" {
			if err = run.Clear(); err == nil {
				err = run.Create(cfg)
			}
		}
	}
	if err != nil {
		if tr != nil {
			tr.Close() // its feed has started
		}
		return nil, err
	}
	defer tr.Close()
	res := &TrainResult{Trainer: tr}
	var logger *MetricsLogger
	if opts.Dir != "" || opts.Out != nil {
		mo := MetricsOptions{Out: opts.Out, Progress: opts.Progress, TotalSteps: int64(cfg.TrainSteps), StartStep: tr.step, Elapsed: tr.Elapsed()}
		if opts.Dir != "" {
			mo.Path = Run{Dir: opts.Dir}.MetricsPath()
		}
		if logger, err = NewMetricsLogger(mo); err != nil {
			return nil, err
		}
		defer logger.Close()
		if tr.Recovered != "" {
			logger.Printf("recovered: %s", tr.Recovered)
		}
	}
	logStats := func(s TrainStats) error {
		if logger == nil {
			return nil
		}
		_, err := logger.Log(StepMetrics{
			Step: s.Step, Split: string(task.SplitTrain), Loss: s.Loss, TokenAcc: s.TokenAcc, ExactAcc: s.ExactAcc,
			HaltSteps: s.MeanSteps, LR: s.LR, Samples: s.Step * int64(cfg.BatchSize), SamplesPerSec: s.SamplesPerSec,
			Extra: map[string]float64{"halted": float64(s.Halted)},
		})
		return err
	}
	logEval := func(step int64, r *infer.EvalResult) error {
		if logger == nil {
			return nil
		}
		extra := map[string]float64{
			"early_exact_acc": r.Early.ExactAcc(), "early_token_acc": r.Early.TokenAcc(),
			"examples": float64(r.Full.Examples),
		}
		for i, c := range r.Curve {
			extra[fmt.Sprintf("exact_acc_step%02d", i+1)] = c.ExactAcc()
		}
		_, err := logger.Log(StepMetrics{
			Step: step, Split: string(task.SplitTest), Loss: math.NaN(), TokenAcc: r.Full.TokenAcc(), ExactAcc: r.Full.ExactAcc(),
			HaltSteps: r.MeanSteps, Extra: extra,
		})
		return err
	}
	save := func() error {
		if opts.Dir == "" {
			return nil
		}
		return tr.Save(opts.Dir)
	}
	evalN := opts.EvalExamples
	if evalN <= 0 {
		evalN = infer.DefaultEvalExamples
	}
	for tr.step < int64(cfg.TrainSteps) {
		if err := ctx.Err(); err != nil {
			if serr := save(); serr != nil {
				return res, errors.Join(err, serr)
			}
			return res, err
		}
		if err := tr.Step(); err != nil {
			return res, err
		}
		last := tr.step == int64(cfg.TrainSteps)
		if tr.step%int64(cfg.LogInterval) == 0 || last {
			res.Last = tr.Stats(tr.Elapsed())
			if opts.Log != nil {
				opts.Log(res.Last)
			}
			if err := logStats(res.Last); err != nil {
				return res, err
			}
		}
		if cfg.EvalInterval > 0 && (tr.step%int64(cfg.EvalInterval) == 0 || last) {
			var r *infer.EvalResult
			tr.WithEMA(func() {
				r, err = infer.Evaluate(ctx, tr.Model, tr.Task, infer.EvalOptions{N: evalN, BatchSize: cfg.PassBatch()})
			})
			if err != nil && ctx.Err() == nil {
				return res, err
			}
			if err == nil {
				res.Eval = r
				if opts.EvalLog != nil {
					opts.EvalLog(tr.step, r)
				}
				if err := logEval(tr.step, r); err != nil {
					return res, err
				}
			}
		}
		if cfg.CheckpointInterval > 0 && tr.step%int64(cfg.CheckpointInterval) == 0 && !last {
			if err := save(); err != nil {
				return res, err
			}
		}
	}
	return res, save()
}
