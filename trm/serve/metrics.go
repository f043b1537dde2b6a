package serve

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are the server's Prometheus collectors, on a registry of its own
// (not the global one), served at GET /metrics.
type metrics struct {
	registry *prometheus.Registry
	requests *prometheus.CounterVec   // by model, api, code
	latency  *prometheus.HistogramVec // by model, api
	inflight prometheus.Gauge

	connections        prometheus.Gauge
	maxConnections     prometheus.Gauge
	evictedConnections prometheus.Counter

	queueDepth  *prometheus.GaugeVec
	batchSize   *prometheus.HistogramVec
	stepSeconds *prometheus.HistogramVec
	steps       *prometheus.HistogramVec
	samples     *prometheus.CounterVec
}

// modelMetrics are the collectors of one model's scheduler.
type modelMetrics struct {
	queueDepth  prometheus.Gauge
	batchSize   prometheus.Observer
	stepSeconds prometheus.Observer
	steps       prometheus.Observer
	samples     prometheus.Counter
}

func newMetrics() *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "trm_requests_total",
			Help: "HTTP requests to the model endpoints, by model, API (v1 native, v2 Open Inference Protocol) and status code.",
		}, []string{"model", "api", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "trm_request_duration_seconds",
			Help:    "Time from a predict/infer request's arrival to its answer, by model and API.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 16), // 1 ms .. 33 s
		}, []string{"model", "api"}),
		inflight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "trm_inflight_requests",
			Help: "Predict/infer requests being served now.",
		}),
		connections: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "trm_open_connections",
			Help: "Client connections open on the API listener now.",
		}),
		maxConnections: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "trm_max_connections",
			Help: "The most client connections the API listener keeps open at once (--max-conns); more wait to be accepted.",
		}),
		evictedConnections: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "trm_evicted_connections_total",
			Help: "Connections closed, while every one of --max-conns was open, for being slow to send their request.",
		}),
		queueDepth: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "trm_queue_depth",
			Help: "Inputs waiting to join a batch, by model.",
		}, []string{"model"}),
		batchSize: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "trm_batch_size",
			Help:    "Inputs run together in one supervision step, by model (one observation per step).",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256},
		}, []string{"model"}),
		stepSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "trm_step_duration_seconds",
			Help:    "Time of one supervision step of a batch, by model.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14), // 0.5 ms .. 4 s
		}, []string{"model"}),
		steps: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "trm_steps_per_input",
			Help:    "Supervision steps an answered input ran before it halted, by model.",
			Buckets: []float64{1, 2, 3, 4, 6, 8, 12, 16, 24, 32},
		}, []string{"model"}),
		samples: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "trm_samples_total",
			Help: "Inputs answered, by model; rate(trm_samples_total[1m]) is samples/s.",
		}, []string{"model"}),
	}
	m.registry.MustRegister(m.requests, m.latency, m.inflight, m.connections, m.maxConnections, m.evictedConnections,
		m.queueDepth, m.batchSize,
		m.stepSeconds, m.steps, m.samples,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// forModel returns the collectors of one model.
func (m *metrics) forModel(name string) *modelMetrics {
	return &modelMetrics{
		queueDepth:  m.queueDepth.WithLabelValues(name),
		batchSize:   m.batchSize.WithLabelValues(name),
		stepSeconds: m.stepSeconds.WithLabelValues(name),
		steps:       m.steps.WithLabelValues(name),
		samples:     m.samples.WithLabelValues(name),
	}
}
