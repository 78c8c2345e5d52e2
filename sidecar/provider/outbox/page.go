package outbox

import (
	"encoding/json"
	"html/template"
	"net/http"
)

// ServeHTTP serves the outbox: HTML at any path, JSON when the path ends in
// .json or the client asks for application/json.
func (o *Outbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	entries := o.Entries()
	if len(r.URL.Path) > 5 && r.URL.Path[len(r.URL.Path)-5:] == ".json" || r.Header.Get("Accept") == "application/json" {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(entries)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	// Captured HTML is shown in a sandboxed frame: it is the sender's content.
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-src 'self'; img-src data:")
	_ = page.Execute(w, entries)
}

var page = template.Must(template.New("outbox").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Symphony outbox</title>
<meta http-equiv="refresh" content="5">
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:2rem;color:#1d2330;background:#f6f7f9}
h1{font-size:1.3rem}.meta{color:#5b6474;font-size:12px}
article{background:#fff;border:1px solid #dde1e7;border-radius:8px;padding:1rem;margin:0 0 1rem}
pre{white-space:pre-wrap;background:#f2f4f7;padding:.6rem;border-radius:6px}
iframe{width:100%;height:240px;border:1px solid #dde1e7;border-radius:6px;background:#fff}
.tag{display:inline-block;background:#e8eefc;border-radius:4px;padding:0 6px;margin-right:4px;font-size:12px}
</style></head><body>
<h1>Outbox <span class="meta">— captured by the log providers; nothing was sent. Newest first; refreshes every 5 s.</span></h1>
{{if not .}}<p>No messages yet. Dispatch one:<br><code>INSERT INTO symphony.messages (kind, payload) VALUES ('email.send', '{"to":"a@example.com","from":"me@example.com","subject":"hi","text":"hello"}');</code></p>{{end}}
{{range .}}<article id="m{{.MessageID}}">
<div class="meta">#{{.Seq}} · message {{.MessageID}} · attempt {{.Attempt}} · {{.At.Format "2006-01-02 15:04:05.000Z07:00"}} · <span class="tag">{{.Channel}}</span></div>
{{with .Email}}<h2>{{.Subject}}</h2>
<div><b>From</b> {{.From}} · <b>To</b> {{range $i, $a := .To}}{{if $i}}, {{end}}{{$a}}{{end}}{{if .Cc}} · <b>Cc</b> {{range .Cc}}{{.}} {{end}}{{end}}{{if .Bcc}} · <b>Bcc</b> {{range .Bcc}}{{.}} {{end}}{{end}}</div>
{{range $k, $v := .Tags}}<span class="tag">{{$k}}={{$v}}</span>{{end}}
{{if .Text}}<pre>{{.Text}}</pre>{{end}}
{{if .HTML}}<iframe sandbox srcdoc="{{.HTML}}" title="HTML body"></iframe>{{end}}
{{range .Attachments}}<div class="meta">📎 {{.Filename}} ({{len .Content}} bytes)</div>{{end}}
{{end}}{{with .SMS}}<div><b>To</b> {{.To}}{{if .From}} · <b>From</b> {{.From}}{{end}}</div><pre>{{.Body}}</pre>{{end}}
</article>{{end}}
</body></html>`))
