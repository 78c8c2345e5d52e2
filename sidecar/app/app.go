package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/symphonymessenger/symphony/sidecar/config"
	"github.com/symphonymessenger/symphony/sidecar/httpapi"
	"github.com/symphonymessenger/symphony/sidecar/httpserver"
	"github.com/symphonymessenger/symphony/sidecar/kind"
	"github.com/symphonymessenger/symphony/sidecar/kind/campaign"
	"github.com/symphonymessenger/symphony/sidecar/kind/remote"
	"github.com/symphonymessenger/symphony/sidecar/listener"
	"github.com/symphonymessenger/symphony/sidecar/membudget"
	"github.com/symphonymessenger/symphony/sidecar/metrics"
	"github.com/symphonymessenger/symphony/sidecar/ops"
	"github.com/symphonymessenger/symphony/sidecar/outhook"
	"github.com/symphonymessenger/symphony/sidecar/provider"
	"github.com/symphonymessenger/symphony/sidecar/provider/httpx"
	"github.com/symphonymessenger/symphony/sidecar/provider/outbox"
	"github.com/symphonymessenger/symphony/sidecar/queue"
	"github.com/symphonymessenger/symphony/sidecar/schedule"
	"github.com/symphonymessenger/symphony/sidecar/storage"
	"github.com/symphonymessenger/symphony/sidecar/walfeed"
	"github.com/symphonymessenger/symphony/sidecar/worker"
)

// Version is set at build time (-ldflags "-X …/app.Version=…").
var Version = "dev"

// Main is the sidecar daemon.
type Main struct {
	Config config.Config
	Logger *slog.Logger

	// Email and SMS replace the providers chosen by Config (tests use them).
	Email provider.EmailSender
	SMS   provider.SMSSender

	mu       sync.Mutex
	addr     net.Addr
	outbox   *outbox.Outbox
	ready    chan struct{}
	readyOne sync.Once
	worker   *worker.Worker

	dashboardAddr net.Addr // nil when the dashboard is off
	webhookAddr   net.Addr // nil when no delivery webhook is configured
}

// Ready is closed once the HTTP address is bound and the worker runs.
func (m *Main) Ready() <-chan struct{} { return m.readyChan() }

func (m *Main) readyChan() chan struct{} {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ready == nil {
		m.ready = make(chan struct{})
	}
	return m.ready
}

// Addr is the bound HTTP address (useful with SYMPHONY_HTTP_ADDR=127.0.0.1:0).
func (m *Main) Addr() net.Addr {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.addr
}

// Outbox returns the log providers' outbox, or nil when neither is in use.
func (m *Main) Outbox() *outbox.Outbox {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.outbox
}

// Run starts the sidecar and blocks until ctx ends and in-flight work has
// drained. A database that is unreachable at start-up is retried with backoff;
// /healthz answers meanwhile and /readyz says why it is not ready.
func (m *Main) Run(ctx context.Context) error {
	cfg := m.Config
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("invalid configuration: %w", err)
	}
	log := m.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	met := metrics.New()
	if l := debug.SetMemoryLimit(-1); l < math.MaxInt64 {
		met.Tuning.MemoryLimit.Set(float64(l)) // see sidecar/memlimit
	}

	// One HTTP client for every provider and remote handler.
	// What providers' answers say about their rate limits goes to the worker,
	// which keeps each queue's shared bucket at it (set before any send).
	var w *worker.Worker
	hc := httpx.New(httpx.Config{Version: Version, Logger: log, Observe: met.ObserveProviderHTTP,
		RateSignals: func(ctx context.Context, sig httpx.RateSignal) { w.RateSignal(ctx, sig) }})
	email, sms, err := m.providers(cfg, log, hc)
	if err != nil {
		return err
	}

	poolCfg, err := pgxpool.ParseConfig(cfg.DatabaseURL)
	if err != nil {
		return fmt.Errorf("DATABASE_URL: %w", err)
	}
	// Enough connections for every queue's claims plus completion and maintenance.
	poolCfg.MaxConns = int32(min(len(cfg.Queues)+4, 32))
	pool, err := pgxpool.NewWithConfig(ctx, poolCfg)
	if err != nil {
		return fmt.Errorf("error creating the database pool: %w", err)
	}
	defer pool.Close()

	host, _ := os.Hostname()
	store := queue.NewStore(pool, cfg.WorkerID).WithLogger(log.With("component", "queue"))
	opsStore := ops.New(pool)
	// Handlers need the installation id, read once the database answers.
	p := cfg.Providers
	handlers := remote.NewRegistry(outhook.New(hc), remote.Config{
		SupabaseURL: p.SupabaseURL, ServiceRoleKey: p.SupabaseServiceRoleKey, WebhookSecret: p.WebhookSecret})
	// The campaigns' periodic step: the worker runs it, knowing no campaign.
	stalled := worker.Periodic{Name: "pause stalled campaigns",
		Run: campaign.Stalled{DB: pool, Metrics: met, Log: log.With("component", "campaigns")}.Run}
	w = worker.New(store, handlers, worker.Config{
		Queues:          cfg.Queues,
		ClaimBatch:      cfg.ClaimBatch,
		Prefetch:        cfg.Prefetch,
		Lease:           cfg.Lease,
		PollInterval:    cfg.PollInterval,
		HandlerTimeout:  cfg.HandlerTimeout,
		ShutdownTimeout: cfg.ShutdownTimeout,
		Retry:           worker.RetryPolicy{Base: cfg.RetryBase, Max: cfg.RetryMax},
		Info:            queue.WorkerInfo{Hostname: host, Version: Version, Queues: cfg.Queues},
		Periodic:        []worker.Periodic{stalled},
	}, log, met)
	lis := listener.New(cfg.DatabaseURL, log, met)
	lis.OnConnect = func() {
		// Whatever was notified while the listener was away is lost: re-read
		// what notifications would have said, then look for work.
		w.ReloadLimits(ctx)
		loadRemoteKinds(ctx, store, handlers, log)
		w.Wake("*")
	}
	lis.OnNotify = func(channel, payload string) {
		if channel == listener.ChannelConfig {
			switch payload {
			case "limits":
				w.ReloadLimits(ctx)
			case "kinds":
				loadRemoteKinds(ctx, store, handlers, log)
			}
			w.Wake("*") // the master switch may have just come on
			return
		}
		w.Wake(payload)
	}

	var ob http.Handler
	if o := m.Outbox(); o != nil {
		ob = o
	}
	api := httpapi.New(httpapi.Deps{
		Ping:      pool.Ping,
		Listening: lis.Connected,
		Store:     store,
		Worker:    w,
		Metrics:   met,
		Outbox:    ob,
		Ops:       opsStore,
		Info: httpapi.Info{WorkerID: cfg.WorkerID, Version: Version, StartedAt: time.Now().UTC(),
			EmailProvider: email.Name(), SMSProvider: sms.Name()},
		Log: log,
	})
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("SYMPHONY_HTTP_ADDR=%s: %w", cfg.HTTPAddr, err)
	}
	m.mu.Lock()
	m.addr, m.worker = ln.Addr(), w
	m.mu.Unlock()
	srv := httpserver.New("api", api, httpserver.APILimits(), log, met)
	httpDone := make(chan error, 1)
	go func() { httpDone <- srv.Serve(ln) }()
	stopDashboard, err := m.startDashboard(cfg, opsStore, met, log)
	if err != nil {
		shutdownHTTP(srv, log)
		return err
	}
	defer stopDashboard()
	stopWebhooks, err := m.startWebhooks(cfg, pool, met, log)
	if err != nil {
		shutdownHTTP(srv, log)
		return err
	}
	defer stopWebhooks()
	log.Info("sidecar starting", "worker_id", cfg.WorkerID, "version", Version, "http", ln.Addr().String(),
		"email_provider", email.Name(), "sms_provider", sms.Name(), "queues", cfg.Queues)

	if err := waitForDatabase(ctx, pool, log); err != nil {
		shutdownHTTP(srv, log)
		return nil // stopped before the database ever answered: nothing in flight
	}
	ns, err := store.InstallationID(ctx)
	if err != nil {
		shutdownHTTP(srv, log)
		return fmt.Errorf("is the Symphony schema applied to this database? %w", err)
	}
	var files storage.Fetcher
	if p.SupabaseURL != "" && p.SupabaseServiceRoleKey != "" {
		if files, err = storage.NewSupabase(p.SupabaseURL, p.SupabaseServiceRoleKey, hc); err != nil {
			shutdownHTTP(srv, log)
			return fmt.Errorf("SUPABASE_URL: %w", err)
		}
	}
	memBudget := int64(cfg.AttachmentMemoryBytes)
	if memBudget == 0 {
		memBudget = membudget.Default()
	}
	log.Info("attachment memory budget", "bytes", memBudget)
	handlers.SetBuiltins(kind.Builtins(kind.Deps{Email: email, SMS: sms, Namespace: ns,
		Storage: files, MaxAttachmentBytes: int64(cfg.AttachmentMaxBytes), Memory: membudget.New(memBudget), DB: pool}), ns)
	loadRemoteKinds(ctx, store, handlers, log)
	handlers.OnMiss = func() { loadRemoteKinds(ctx, store, handlers, log) }

	lctx, stopListener := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = lis.Run(lctx) }()
	wg.Add(1)
	go func() { defer wg.Done(); opsStore.CollectMetrics(lctx, cfg.StatsInterval, met, cfg.QueueNames(), log) }()
	wg.Add(1)
	go func() { defer wg.Done(); schedule.New(pool, cfg.SchedulerInterval, log).Run(lctx) }()

	if cfg.Wakeup == "wal" {
		feed := walfeed.New(cfg.DatabaseURL, log)
		met.WatchWALFeed(feed.Connected)
		feed.OnInsert = w.Wake
		feed.OnConnect = func() { w.Wake("*") }
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := feed.Run(lctx); err != nil {
				log.Error("WAL wake-up feed unavailable; waking from NOTIFY and polling instead "+
					"(if symphony.notify_inserts is off, wake-ups now come only from the poll)", "error", err)
			}
		}()
	}

	m.markReady()
	err = w.Run(ctx) // returns after draining once ctx ends
	stopListener()
	wg.Wait()
	shutdownHTTP(srv, log)
	if herr := <-httpDone; herr != nil && !errors.Is(herr, http.ErrServerClosed) && err == nil {
		err = herr
	}
	return err
}

func (m *Main) markReady() {
	ch := m.readyChan()
	m.readyOne.Do(func() { close(ch) })
}

// loadRemoteKinds (re)reads the kinds handled by Edge Functions and webhooks.
func loadRemoteKinds(ctx context.Context, store *queue.Store, r *remote.Registry, log *slog.Logger) {
	kinds, err := store.RemoteKinds(ctx)
	if err != nil {
		log.Warn("could not read remote kinds; keeping the previous ones", "error", err)
		return
	}
	for _, problem := range r.Load(kinds) {
		log.Error("a registered kind cannot be handled by this sidecar; its messages will fail with this reason", "error", problem)
	}
}

// providers returns the configured senders, or the ones a test put in Main.
func (m *Main) providers(cfg config.Config, log *slog.Logger, hc *http.Client) (provider.EmailSender, provider.SMSSender, error) {
	email, sms := m.Email, m.SMS
	if (email == nil && cfg.EmailProvider == "log") || (sms == nil && cfg.SMSProvider == "log") {
		o := outbox.New(cfg.OutboxSize, log)
		m.mu.Lock()
		m.outbox = o
		m.mu.Unlock()
		if email == nil && cfg.EmailProvider == "log" {
			email = o
		}
		if sms == nil && cfg.SMSProvider == "log" {
			sms = o
		}
	}
	if email == nil || sms == nil {
		realEmail, realSMS, err := realProviders(cfg, hc)
		if err != nil {
			return nil, nil, err
		}
		if email == nil {
			email = realEmail
		}
		if sms == nil {
			sms = realSMS
		}
	}
	return email, sms, nil
}

func waitForDatabase(ctx context.Context, pool *pgxpool.Pool, log *slog.Logger) error {
	backoff := 250 * time.Millisecond
	for {
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := pool.Ping(pctx)
		cancel()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		log.Warn("database unreachable; retrying", "error", err, "retry_in", backoff)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 10*time.Second)
	}
}

func shutdownHTTP(srv *httpserver.Server, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		log.Warn("http shutdown", "error", err)
	}
}
