package remote

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/msgtype"
	"github.com/symphonymessenger/symphony/sidecar/outhook"
	"github.com/symphonymessenger/symphony/sidecar/provider"
	"github.com/symphonymessenger/symphony/sidecar/queue"
)

// Handler handles a kind registered with handler 'edge_function' or
// 'webhook': each attempt is delivered to the kind's endpoint.
type Handler struct {
	Client    *outhook.Client
	Target    outhook.Target
	Namespace string
}

// Handle delivers m to the target; the target's JSON answer is the result.
func (h Handler) Handle(ctx context.Context, m *msgtype.Message) (json.RawMessage, error) {
	r, err := h.Client.Deliver(ctx, h.Target, provider.SendOf(h.Namespace, m), outhook.Message{
		ID: m.ID, Kind: m.Kind, Attempt: m.Attempt, MaxAttempts: m.MaxAttempts,
		Subject: m.Subject, Payload: m.Payload, Meta: m.Meta,
	})
	if err != nil {
		return nil, err
	}
	return r.Result(m, nil)
}

// misconfigured fails every message of a kind whose endpoint cannot be built
// here, with the reason.
type misconfigured struct{ err error }

func (h misconfigured) Handle(context.Context, *msgtype.Message) (json.RawMessage, error) {
	return nil, msgtype.Permanent(h.err)
}

// Config is what remote kinds need from the sidecar's environment.
type Config struct {
	SupabaseURL    string // SUPABASE_URL: Edge Functions live at <url>/functions/v1/<name>
	ServiceRoleKey string // SUPABASE_SERVICE_ROLE_KEY: sent as the Bearer token (secret)
	WebhookSecret  string // SYMPHONY_WEBHOOK_SECRET: signs webhook bodies (secret)
}

// Registry routes the built-in kinds to their handlers and the kinds registered
// in symphony.kinds with a remote handler to their endpoints. Remote kinds are
// reloaded when symphony.kinds changes; routing is lock-free.
type Registry struct {
	builtins atomic.Pointer[msgtype.Handlers]
	remote   atomic.Pointer[msgtype.Handlers]
	client   *outhook.Client
	cfg      Config
	ns       atomic.Pointer[string]

	// OnMiss, when set, is called for a kind with no handler before Route gives
	// up: a kind registered a moment ago may not have reached this sidecar's
	// NOTIFY yet. It is called at most once a second.
	OnMiss   func()
	missMu   sync.Mutex // misses wait for one reload instead of failing beside it
	lastMiss time.Time
}

// NewRegistry returns an empty Registry; SetBuiltins and Load fill it once the
// database (and so the installation id) is known.
func NewRegistry(client *outhook.Client, cfg Config) *Registry {
	r := &Registry{client: client, cfg: cfg}
	r.builtins.Store(&msgtype.Handlers{})
	r.remote.Store(&msgtype.Handlers{})
	ns := ""
	r.ns.Store(&ns)
	return r
}

// SetBuiltins installs the built-in handlers and the installation id that
// remote deliveries use in their idempotency keys.
func (r *Registry) SetBuiltins(h msgtype.Handlers, namespace string) {
	r.builtins.Store(&h)
	r.ns.Store(&namespace)
}

// Route returns the handler of kind.
func (r *Registry) Route(kind string) (msgtype.Handler, bool) {
	if h, ok := (*r.builtins.Load())[kind]; ok {
		return h, true
	}
	if h, ok := (*r.remote.Load()).Route(kind); ok {
		return h, true
	}
	if r.OnMiss == nil {
		return nil, false
	}
	r.missMu.Lock()
	if time.Since(r.lastMiss) > time.Second {
		r.OnMiss()
		r.lastMiss = time.Now()
	}
	r.missMu.Unlock()
	return (*r.remote.Load()).Route(kind)
}

// Load replaces the remote kinds. It returns one error per kind that cannot be
// served here; those kinds still route, to a handler that fails with the reason.
func (r *Registry) Load(kinds []queue.RemoteKind) []error {
	next := msgtype.Handlers{}
	var problems []error
	for _, k := range kinds {
		t, err := r.target(k)
		if err != nil {
			err = fmt.Errorf("kind %s (handler %s): %w", k.Kind, k.Handler, err)
			problems = append(problems, err)
			next[k.Kind] = misconfigured{err}
			continue
		}
		next[k.Kind] = Handler{Client: r.client, Target: t, Namespace: *r.ns.Load()}
	}
	r.remote.Store(&next)
	return problems
}

func (r *Registry) target(k queue.RemoteKind) (outhook.Target, error) {
	switch k.Handler {
	case "edge_function":
		if r.cfg.SupabaseURL == "" || r.cfg.ServiceRoleKey == "" {
			return outhook.Target{}, fmt.Errorf("SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY must be set in the sidecar's environment")
		}
		name, _ := k.Config["function"].(string)
		if name == "" {
			return outhook.Target{}, fmt.Errorf(`config has no "function"`)
		}
		return outhook.Target{
			Name:        "edge_function",
			URL:         strings.TrimRight(r.cfg.SupabaseURL, "/") + "/functions/v1/" + url.PathEscape(name),
			BearerToken: r.cfg.ServiceRoleKey,
		}, nil
	case "webhook":
		u, _ := k.Config["url"].(string)
		if parsed, err := url.Parse(u); err != nil || (parsed.Scheme != "https" && parsed.Scheme != "http") || parsed.Host == "" {
			return outhook.Target{}, fmt.Errorf(`config "url" must be an http(s) URL`)
		}
		return outhook.Target{Name: "webhook", URL: u, SigningSecret: r.cfg.WebhookSecret}, nil
	default:
		return outhook.Target{}, fmt.Errorf("unknown handler %q", k.Handler)
	}
}
