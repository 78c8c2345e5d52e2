package campaign_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/internal/kindtest"
	"github.com/symphonymessenger/symphony/sidecar/kind/campaign"
	"github.com/symphonymessenger/symphony/sidecar/msgtype"
)

// One campaign.process renders each recipient's email — HTML-escaped in html,
// folded to one line in the subject, percent-encoded in the unsubscribe URL —
// with List-Unsubscribe headers, queues them, and chains the next batch.
func TestCampaign_RendersQueuesAndChains(t *testing.T) {
	t.Parallel()
	pool := kindtest.DB(t)
	ctx := context.Background()
	kindtest.Exec(t, pool, `insert into symphony.campaigns (name, "from", subject, html, "text", unsubscribe_url, unsubscribe_mailto, batch_size)
		values ('launch', 'News <news@example.com>', 'Hi {{name}}', '<p>Hi {{name}}</p><a href="{{unsubscribe_url}}">unsubscribe</a>',
		        'Hi {{name}}', 'https://app.example/u/{{token}}', 'mailto:unsub@example.com?subject={{recipient_id}}', 2)`)
	kindtest.Exec(t, pool, `insert into symphony.campaign_recipients (campaign_id, email, data)
		select id, x.email, x.data::jsonb from symphony.campaigns,
		  (values ('a@example.com', '{"name": "<Ada> & \"Bo\"\r\nBcc: evil@example.com", "token": "t 1/2"}'),
		          ('b@example.com', '{"name": "Bea", "token": 7}'),
		          ('c@example.com', '{"name": "Cy", "token": "x"}')) x(email, data)`)
	kindtest.Exec(t, pool, `select symphony.start_campaign(id) from symphony.campaigns`)
	h := campaign.Handler{DB: pool}
	res, err := h.Handle(ctx, kindtest.Message(t, pool, `kind = 'campaign.process'`))
	if err != nil {
		t.Fatal(err)
	}
	if kindtest.Field(t, res, "queued") != "2" || kindtest.Field(t, res, "more") != "true" {
		t.Fatalf("result %s", res)
	}
	var p struct {
		To      string            `json:"to"`
		Subject string            `json:"subject"`
		HTML    string            `json:"html"`
		Text    string            `json:"text"`
		Headers map[string]string `json:"headers"`
		Tags    map[string]string `json:"tags"`
	}
	m := kindtest.Message(t, pool, `kind = 'email.send' and payload ->> 'to' = 'a@example.com'`)
	if err := json.Unmarshal(m.Payload, &p); err != nil {
		t.Fatal(err)
	}
	rid := kindtest.QueryInt(t, pool, `select id from symphony.campaign_recipients where email = 'a@example.com'`)
	checks := map[string][2]string{
		"subject":               {p.Subject, `Hi <Ada> & "Bo" Bcc: evil@example.com`},
		"html":                  {p.HTML, `<p>Hi &lt;Ada&gt; &amp; &#34;Bo&#34;` + "\r\n" + `Bcc: evil@example.com</p><a href="https://app.example/u/t%201%2F2">unsubscribe</a>`},
		"text":                  {p.Text, "Hi <Ada> & \"Bo\"\r\nBcc: evil@example.com"},
		"List-Unsubscribe":      {p.Headers["List-Unsubscribe"], "<https://app.example/u/t%201%2F2>, <mailto:unsub@example.com?subject=" + itoa(rid) + ">"},
		"List-Unsubscribe-Post": {p.Headers["List-Unsubscribe-Post"], "List-Unsubscribe=One-Click"},
	}
	for name, c := range checks {
		if c[0] != c[1] {
			t.Errorf("%s = %q, want %q", name, c[0], c[1])
		}
	}
	if p.Tags["campaign"] == "" {
		t.Errorf("tags %v: no campaign tag", p.Tags)
	}

	// The next message waits until half of the first batch is sent.
	_, err = h.Handle(ctx, kindtest.Message(t, pool, `kind = 'campaign.process' order by id desc limit 1`))
	var d *msgtype.DeferError
	if !errors.As(err, &d) || d.After > 3*time.Second {
		t.Fatalf("the next batch while the first is unsent: %v, want a short deferral", err)
	}
	kindtest.Exec(t, pool, `update symphony.messages set state = 'succeeded', finished_at = now() where kind = 'email.send'`)
	if _, err := h.Handle(ctx, kindtest.Message(t, pool, `kind = 'campaign.process' order by id desc limit 1`)); err != nil {
		t.Fatal(err)
	}
	if st := kindtest.QueryInt(t, pool, `select count(*) from symphony.campaigns where status = 'completed' and queued = 3`); st != 1 {
		t.Fatal("the campaign did not complete with 3 queued")
	}
	// A replayed message (a retry after a crash) changes nothing.
	res, err = h.Handle(ctx, kindtest.Message(t, pool, `kind = 'campaign.process' order by id limit 1`))
	if err != nil || kindtest.Field(t, res, "action") != `"stop"` {
		t.Fatalf("replay: %s, %v", res, err)
	}
	if n := kindtest.QueryInt(t, pool, `select count(*) from symphony.messages where kind = 'email.send'`); n != 3 {
		t.Fatalf("%d emails for 3 recipients", n)
	}
}

func itoa(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}
