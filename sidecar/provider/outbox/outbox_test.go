package outbox

import (
	"bytes"
	"context"
	"log/slog"
	"regexp"
	"strings"
	"testing"

	"github.com/symphonymessenger/symphony/sidecar/provider"
)

// testOutbox returns an Outbox logging to a buffer in slog's text form, without times.
func testOutbox(size int, level slog.Level) (*Outbox, *bytes.Buffer) {
	var buf bytes.Buffer
	h := slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: level, ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}})
	return New(size, slog.New(h)), &buf
}

// A captured email is kept, logged with what it says (the text clipped to
// 500 characters, attachments by name and size) and answered with a receipt
// naming its place in the outbox.
func TestOutbox_SendEmailCapturesAndLogs(t *testing.T) {
	t.Parallel()
	o, logs := testOutbox(2, slog.LevelInfo)
	long := strings.Repeat("é", 499) + "xyz"
	e := &provider.Email{From: provider.Address{Email: "me@example.com"}, To: []provider.Address{{Name: "Ann", Email: "ann@example.com"}}, Cc: []provider.Address{{Email: "cy@example.com"}},
		Subject: "Hi", Text: long, HTML: "<p>hi</p>",
		Attachments: []provider.Attachment{{Filename: "a.pdf", Content: []byte("12345")}, {Filename: "b.txt", Content: nil}}}
	for i := 1; i <= 3; i++ {
		r, err := o.SendEmail(context.Background(), provider.Send{MessageID: int64(10 + i), Attempt: 1}, e)
		if err != nil {
			t.Fatal(err)
		}
		if want := (provider.Receipt{Provider: "log", MessageID: "log-" + string(rune('0'+i)), Status: "captured"}); r.Provider != want.Provider ||
			r.MessageID != want.MessageID || r.Status != want.Status || r.Extra != nil || r.PossibleDuplicate {
			t.Fatalf("receipt %+v, want %+v", r, want)
		}
	}
	entries := o.Entries()
	if len(entries) != 2 || entries[0].Seq != 3 || entries[1].Seq != 2 || entries[0].MessageID != 13 || entries[0].Email != e ||
		entries[0].Channel != "email" || entries[0].At.IsZero() || entries[0].At.Location().String() != "UTC" {
		t.Fatalf("entries %+v, want the last two, newest first", entries)
	}
	line := strings.SplitN(logs.String(), "\n", 2)[0]
	want := `level=INFO msg="email captured (log provider: not sent)" component=outbox message_id=11 outbox_seq=1 from=me@example.com ` +
		`to="[Ann <ann@example.com>]" cc=[cy@example.com] bcc=[] subject=Hi text=` + strings.Repeat("é", 499) + `x… html_bytes=9 ` +
		`attachments="[a.pdf (5 bytes) b.txt (0 bytes)]"`
	if line != want {
		t.Fatalf("logged\n%s\nwant\n%s", line, want)
	}
}

// Text is clipped by characters, never inside one, and invalid UTF-8 in a
// clipped text is shown as U+FFFD.
func TestClip(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ in, want string }{
		{"", ""},
		{"abc", "abc"},
		{"abcd", "abcd"},
		{"abcde", "abcd…"},
		{"ééé", "ééé"},
		{"éééé", "éééé"},
		{"ééééé", "éééé…"},
		{"a\xffbcde", "a\uFFFDbc…"},
		{"a\xffb", "a\xffb"},
	} {
		if got := clip(c.in, 4); got != c.want {
			t.Errorf("clip(%q, 4) = %q, want %q", c.in, got, c.want)
		}
	}
}

// An SMS is captured and logged the same way.
func TestOutbox_SendSMSCapturesAndLogs(t *testing.T) {
	t.Parallel()
	o, logs := testOutbox(10, slog.LevelInfo)
	r, err := o.SendSMS(context.Background(), provider.Send{MessageID: 5, Attempt: 2}, &provider.SMS{To: "+14155550100", Body: "hi"})
	if err != nil || r.MessageID != "log-1" || r.Provider != "log" || r.Status != "captured" {
		t.Fatalf("receipt %+v, %v", r, err)
	}
	if got := o.Entries(); len(got) != 1 || got[0].SMS == nil || got[0].Attempt != 2 || got[0].Channel != "sms" {
		t.Fatalf("entries %+v", got)
	}
	if !regexp.MustCompile(`^level=INFO msg="sms captured \(log provider: not sent\)" component=outbox message_id=5 outbox_seq=1 to=\+14155550100 from="" body=hi\n$`).MatchString(logs.String()) {
		t.Fatalf("logged %q", logs.String())
	}
}

// Below its level, the capture logs nothing; a cancelled context captures nothing.
func TestOutbox_QuietAndCancelled(t *testing.T) {
	t.Parallel()
	o, logs := testOutbox(10, slog.LevelWarn)
	if _, err := o.SendEmail(context.Background(), provider.Send{MessageID: 1}, &provider.Email{To: []provider.Address{{Email: "a@example.com"}}}); err != nil {
		t.Fatal(err)
	}
	if logs.Len() != 0 {
		t.Fatalf("logged %q at level warn", logs.String())
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := o.SendEmail(ctx, provider.Send{MessageID: 2}, &provider.Email{}); err != context.Canceled {
		t.Fatalf("cancelled: %v", err)
	}
	if n := len(o.Entries()); n != 1 {
		t.Fatalf("%d entries, want only the first", n)
	}
}

// BenchmarkOutbox_SendEmail measures a capture with logging below the log
// level, as in scripts/bench.sh (SYMPHONY_LOG_LEVEL=warn), and at info.
//
//	go test ./sidecar/provider/outbox -run '^$' -bench . -benchmem
func BenchmarkOutbox_SendEmail(b *testing.B) {
	for _, level := range []slog.Level{slog.LevelWarn, slog.LevelInfo} {
		b.Run(level.String(), func(b *testing.B) {
			o := New(100, slog.New(slog.NewTextHandler(discard{}, &slog.HandlerOptions{Level: level})))
			e := &provider.Email{From: provider.Address{Email: "bench@example.com"}, To: []provider.Address{{Email: "user1@example.com"}}, Subject: "bench 1", Text: "hello"}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := o.SendEmail(context.Background(), provider.Send{MessageID: 1, Attempt: 1}, e); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
