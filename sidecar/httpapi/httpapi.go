package httpapi

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/symphonymessenger/symphony/sidecar/metrics"
	"github.com/symphonymessenger/symphony/sidecar/ops"
	"github.com/symphonymessenger/symphony/sidecar/queue"
	"github.com/symphonymessenger/symphony/sidecar/worker"
)

// Deps is what the endpoints read. Every field but Outbox is required.
type Deps struct {
	Ping      func(ctx context.Context) error // the database answers
	Listening func() bool                     // the LISTEN connection is up
	Store     *queue.Store
	Worker    *worker.Worker
	Metrics   *metrics.Metrics
	Outbox    http.Handler // nil unless a log provider is in use
	Ops       *ops.Store   // nil: /status leaves out the cluster-wide view
	Info      Info
	Log       *slog.Logger
}

// Info describes this sidecar in /status.
type Info struct {
	WorkerID      string    `json:"worker_id"`
	Version       string    `json:"version"`
	StartedAt     time.Time `json:"started_at"`
	EmailProvider string    `json:"email_provider"`
	SMSProvider   string    `json:"sms_provider"`
}

// New returns the sidecar's HTTP handler.
func New(d Deps) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", d.readyz)
	mux.Handle("GET /metrics", promhttp.HandlerFor(d.Metrics.Registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /status", d.status)
	if d.Outbox != nil {
		mux.Handle("GET /outbox", d.Outbox)
		mux.Handle("GET /outbox.json", d.Outbox)
	}
	return mux
}

func (d Deps) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	problems := []string{}
	if err := d.Ping(ctx); err != nil {
		problems = append(problems, "database: "+err.Error())
	}
	if !d.Listening() {
		problems = append(problems, "listener: LISTEN connection is down")
	}
	if len(problems) > 0 {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "unavailable", "problems": problems})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

type queueStatus struct {
	worker.QueueState
	Due              int64   `json:"due"`
	Scheduled        int64   `json:"scheduled"`
	Processing       int64   `json:"processing_all_sidecars"`
	OldestDueSeconds float64 `json:"oldest_due_seconds"`
}

func (d Deps) status(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	out := map[string]any{
		"sidecar":            d.Info,
		"uptime_seconds":     int64(time.Since(d.Info.StartedAt).Seconds()),
		"listener_connected": d.Listening(),
	}
	queues := map[string]*queueStatus{}
	for _, s := range d.Worker.Snapshot() {
		queues[s.Queue] = &queueStatus{QueueState: s}
	}
	stats, err := d.Store.Depth(ctx)
	if err != nil {
		out["database_error"] = err.Error()
	}
	for _, s := range stats {
		q, ok := queues[s.Queue]
		if !ok {
			q = &queueStatus{QueueState: worker.QueueState{Queue: s.Queue}} // served by no slot here
			queues[s.Queue] = q
		}
		q.Due, q.Scheduled, q.Processing, q.OldestDueSeconds = s.Pending, s.Scheduled, s.Processing, s.OldestPendingSeconds
	}
	if on, err := d.Store.MasterEnabled(ctx); err == nil {
		out["master_enabled"] = on
	}
	out["queues"] = queues
	if d.Ops != nil {
		out["cluster"] = d.cluster(ctx)
	}
	writeJSON(w, http.StatusOK, out)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
