package dashboard

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/ops"
)

// Config configures the dashboard. Token and Ops are required.
type Config struct {
	Token    string     // SYMPHONY_DASHBOARD_TOKEN: never logged
	Ops      *ops.Store // the operations views
	WorkerID string     // shown in the header
	// Actor names the dashboard's actions in symphony.message_actions; empty:
	// "dashboard:<WorkerID>". A session carries no person's name, only the token.
	Actor   string
	Version string
	Log     *slog.Logger
	Now     func() time.Time // nil: time.Now
}

type server struct {
	cfg  Config
	auth *auth
	log  *slog.Logger
}

// New returns the dashboard's handler. It serves /dashboard and below, and
// sends / there.
func New(cfg Config) (http.Handler, error) {
	if cfg.Token == "" {
		return nil, errors.New("dashboard: a token is required")
	}
	if cfg.Ops == nil {
		return nil, errors.New("dashboard: Ops is required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Actor == "" {
		cfg.Actor = "dashboard:" + cfg.WorkerID
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &server{cfg: cfg, auth: newAuth(cfg.Token, cfg.Now), log: log.With("component", "dashboard")}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/dashboard", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /dashboard", s.view("overview", s.overview))
	mux.HandleFunc("GET /dashboard/login", s.loginForm)
	mux.HandleFunc("POST /dashboard/login", s.login)
	mux.HandleFunc("POST /dashboard/logout", s.logout)
	mux.HandleFunc("POST /dashboard/retry", s.retry)
	mux.HandleFunc("GET /dashboard/activity", s.view("activity", s.activity))
	mux.HandleFunc("GET /dashboard/migration", s.view("migration", s.migration))
	mux.HandleFunc("GET /dashboard/campaigns", s.view("campaigns", s.campaigns))
	mux.HandleFunc("GET /dashboard/delivery", s.view("delivery", s.delivery))
	mux.HandleFunc("POST /dashboard/campaigns/{id}/{action}", s.campaignAction)
	// Browsers say where a request comes from (Sec-Fetch-Site, Origin); a
	// cross-origin POST is refused before any handler sees it.
	return headers(http.NewCrossOriginProtection().Handler(mux)), nil
}

func headers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

func (s *server) loginForm(w http.ResponseWriter, r *http.Request) {
	if kind, _ := s.auth.who(r); kind != "" {
		http.Redirect(w, r, "/dashboard", http.StatusSeeOther)
		return
	}
	s.render(w, "login", loginData{})
}

func (s *server) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	if !s.auth.tokenOK(r.PostFormValue("token")) {
		s.log.Warn("dashboard login refused", "remote", r.RemoteAddr)
		w.WriteHeader(http.StatusUnauthorized)
		s.render(w, "login", loginData{Error: "That is not the dashboard token."})
		return
	}
	name, err := operatorName(r.PostFormValue("name"))
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		s.render(w, "login", loginData{Error: err.Error()})
		return
	}
	v, exp := s.auth.newSession(name)
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: v, Path: "/dashboard", Expires: exp,
		HttpOnly: true, Secure: secure(r), SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/dashboard", http.StatusSeeOther)
}

func (s *server) logout(w http.ResponseWriter, r *http.Request) {
	kind, session := s.auth.who(r)
	if kind == "session" && !s.auth.csrfOK(r, kind, session) {
		http.Error(w, "invalid or missing CSRF token", http.StatusForbidden)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/dashboard", MaxAge: -1,
		HttpOnly: true, Secure: secure(r), SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/dashboard/login", http.StatusSeeOther)
}

// action admits a state-changing POST: a form of at most limit bytes, from a
// signed-in operator, with the session's CSRF token. It answers the request
// itself when it refuses, and otherwise returns how the request is signed in.
func (s *server) action(w http.ResponseWriter, r *http.Request, limit int64) (kind string, ok bool) {
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form: "+err.Error(), http.StatusBadRequest)
		return "", false
	}
	kind, session := s.auth.who(r)
	if kind == "" {
		http.Error(w, "not signed in", http.StatusUnauthorized)
		return "", false
	}
	if !s.auth.csrfOK(r, kind, session) {
		http.Error(w, "invalid or missing CSRF token", http.StatusForbidden)
		return "", false
	}
	return kind, true
}

// retry retries the dead messages named by the form's id fields.
func (s *server) retry(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.action(w, r, 64<<10); !ok {
		return
	}
	var ids []int64
	for _, v := range r.PostForm["id"] {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			http.Error(w, fmt.Sprintf("id %q is not a message id", v), http.StatusBadRequest)
			return
		}
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		http.Error(w, "no message id given", http.StatusBadRequest)
		return
	}
	res, err := s.cfg.Ops.RetryDead(r.Context(), ids, s.cfg.Actor)
	if err != nil {
		s.log.Error("dashboard retry failed", "error", err)
		http.Error(w, "retry failed: "+err.Error(), http.StatusInternalServerError)
		return
	}
	done := 0
	for _, x := range res {
		if x.Done {
			done++
			s.log.Info("dashboard: dead message retried", "id", x.ID)
		}
	}
	notice := fmt.Sprintf("Retried %d of %d.", done, len(ids))
	if done < len(ids) {
		notice += " The rest were not dead any more."
	}
	http.Redirect(w, r, "/dashboard?notice="+url.QueryEscape(notice), http.StatusSeeOther)
}
