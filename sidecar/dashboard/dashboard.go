package dashboard

import (
	"context"
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
	mux.HandleFunc("GET /dashboard", s.page)
	mux.HandleFunc("GET /dashboard/login", s.loginForm)
	mux.HandleFunc("POST /dashboard/login", s.login)
	mux.HandleFunc("POST /dashboard/logout", s.logout)
	mux.HandleFunc("POST /dashboard/retry", s.retry)
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

func (s *server) page(w http.ResponseWriter, r *http.Request) {
	kind, session := s.auth.who(r)
	if kind == "" {
		http.Redirect(w, r, "/dashboard/login", http.StatusSeeOther)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	o, err := s.cfg.Ops.Overview(ctx, 50)
	data := pageData{Overview: o, WorkerID: s.cfg.WorkerID, Version: s.cfg.Version,
		Now: s.cfg.Now().UTC(), Notice: r.URL.Query().Get("notice"), SessionAuth: kind == "session"}
	if kind == "session" {
		data.CSRF = s.auth.csrf(session)
	}
	if err != nil {
		s.log.Error("dashboard could not read the database", "error", err)
		data.Error = "The database could not be read: " + err.Error()
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	s.render(w, "page", data)
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
	v, exp := s.auth.newSession()
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

// retry retries the dead messages named by the form's id fields.
func (s *server) retry(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form: "+err.Error(), http.StatusBadRequest)
		return
	}
	kind, session := s.auth.who(r)
	if kind == "" {
		http.Error(w, "not signed in", http.StatusUnauthorized)
		return
	}
	if !s.auth.csrfOK(r, kind, session) {
		http.Error(w, "invalid or missing CSRF token", http.StatusForbidden)
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
