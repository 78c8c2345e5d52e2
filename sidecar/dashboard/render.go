package dashboard

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"time"
)

//go:embed templates/*.html
var files embed.FS

var templates = template.Must(template.New("").Funcs(template.FuncMap{
	"ago":   agoSeconds,
	"since": func(now, t time.Time) string { return agoSeconds(now.Sub(t).Seconds()) },
	"stamp": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
	"deref": func(s *string) string {
		if s == nil {
			return ""
		}
		return *s
	},
	"rate":       func(f float64) string { return fmt.Sprintf("%.1f", f) },
	"percent":    func(n int) string { return fmt.Sprintf("%d%%", n) },
	"inc":        func(n int) int { return n + 1 },
	"changeText": changeText,
	"master":     master,
}).ParseFS(files, "templates/*.html"))

type loginData struct{ Error string }

// render executes into a buffer first, so a template error is a clean 500
// rather than half a page.
func (s *server) render(w http.ResponseWriter, name string, data any) {
	var buf bytes.Buffer
	if err := templates.ExecuteTemplate(&buf, name, data); err != nil {
		s.log.Error("dashboard template failed", "template", name, "error", err)
		http.Error(w, "template error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = buf.WriteTo(w)
}

func agoSeconds(sec float64) string {
	d := time.Duration(sec * float64(time.Second))
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	default:
		return fmt.Sprintf("%dd", int(d.Hours()/24))
	}
}
