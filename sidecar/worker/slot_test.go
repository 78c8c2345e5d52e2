package worker

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/msgtype"
	"github.com/symphonymessenger/symphony/sidecar/provider"
)

// A slot counts every attempt under its queue, kind and outcome, and times
// it; a series appears only once something is counted in it.
func TestWorker_SlotMetrics(t *testing.T) {
	t.Parallel()
	w := testWorker(t, handlerFunc(func(ctx context.Context, m *msgtype.Message) (json.RawMessage, error) {
		if m.ID == 2 {
			return nil, provider.Permanent(errors.New("bad address"))
		}
		return json.RawMessage(`{}`), nil
	}), 2, time.Minute)
	m := testMessage()
	for _, id := range []int64{1, 3, 4} {
		m.ID = id
		handleWithin(t, w, int(id%2), m, 5*time.Second)
	}
	if got := series(t, w, "symphony_messages_processed_total"); len(got) != 1 {
		t.Fatalf("processed series after successes only: %v", got)
	}
	m.ID = 2
	handleWithin(t, w, 0, m, 5*time.Second)
	other := &msgtype.Message{ID: 5, Kind: "sms.send", Queue: "email", Attempt: 1, MaxAttempts: 5}
	handleWithin(t, w, 0, other, 5*time.Second)
	want := map[string]float64{"email.send,dead,email": 1, "email.send,succeeded,email": 3, "sms.send,dead,email": 1}
	if got := series(t, w, "symphony_messages_processed_total"); len(got) != len(want) ||
		got["email.send,dead,email"] != 1 || got["email.send,succeeded,email"] != 3 || got["sms.send,dead,email"] != 1 {
		t.Errorf("processed %v, want %v", got, want)
	}
	// A kind without a handler is never timed.
	if got := series(t, w, "symphony_handler_duration_seconds"); len(got) != 1 || got["email.send,email"] != 4 {
		t.Errorf("handler durations %v, want 4 of email.send's", got)
	}
}

// series returns the values of metric name (a histogram's count) by their
// label values, joined with commas in label-name order.
func series(t *testing.T, w *Worker, name string) map[string]float64 {
	t.Helper()
	families, err := w.m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetValue())
			}
			v := m.GetCounter().GetValue()
			if h := m.GetHistogram(); h != nil {
				v = float64(h.GetSampleCount())
			}
			out[strings.Join(labels, ",")] = v
		}
	}
	return out
}
