package providerevents

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	queries "github.com/symphonymessenger/symphony/sql"
)

// Statuses, from least to most final (symphony.delivery_rank). OptOut and OptIn
// change the suppression list only, whatever message they arrive with.
const (
	Sent        = "sent"
	Delayed     = "delayed" // deferred or soft-bounced: the provider keeps trying
	Delivered   = "delivered"
	Undelivered = "undelivered"
	Bounced     = "bounced"
	Complained  = "complained"
	OptOut      = "opt_out"
	OptIn       = "opt_in" // lifts an SMS "stop" suppression (Twilio START)
)

// Suppression reasons (symphony.suppressions.reason) an event may add.
const (
	SuppressBounced      = "bounced"
	SuppressComplained   = "complained"
	SuppressStop         = "stop"
	SuppressUnsubscribed = "unsubscribed"
)

// maxRaw bounds the provider event kept in symphony.delivery_events.raw;
// Postmark can include a whole bounced message.
const maxRaw = 16 << 10

// Event is one provider event in Symphony's words.
type Event struct {
	Provider      string    // resend, sendgrid, postmark or twilio
	MessageID     string    // the provider's id of the message; empty for inbound opt-outs
	ProviderEvent string    // the provider's own name of the event, e.g. email.bounced
	Status        string    // one of the statuses above
	Recipient     string    // the address or number the event is about
	Reason        string    // the provider's explanation (bounce text, error code)
	At            time.Time // when it happened, by the provider's clock where it says
	Suppress      string    // a suppression reason, or empty
	// Key identifies the event across the provider's retries; with Provider it
	// makes recording idempotent.
	Key string
	Raw json.RawMessage // the provider's event, if small
}

// Outcomes of recording one event (symphony.record_delivery), plus Ignored for
// events that change nothing here (opens, clicks, "queued").
const (
	Recorded   = "recorded"
	Superseded = "superseded"
	Duplicate  = "duplicate"
	Unknown    = "unknown"
	Ignored    = "ignored"
)

// Store records events in the database.
type Store struct{ pool *pgxpool.Pool }

// NewStore returns a Store over pool.
func NewStore(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

// Record stores the events of one request in one statement and returns each
// one's outcome, in the order given.
func (s *Store) Record(ctx context.Context, events []Event) ([]string, error) {
	// Sorted by message and recipient, so that concurrent requests lock shared
	// messages (and suppression rows) in the same order and cannot deadlock;
	// outcomes are put back in the caller's order.
	order := make([]int, len(events))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool {
		x, y := events[order[a]], events[order[b]]
		return x.MessageID < y.MessageID || (x.MessageID == y.MessageID && x.Recipient < y.Recipient)
	})
	n := len(events)
	provider, status, key, at := make([]string, n), make([]string, n), make([]string, n), make([]time.Time, n)
	id, pevent, recipient, reason, suppress, raw := make([]*string, n), make([]*string, n), make([]*string, n),
		make([]*string, n), make([]*string, n), make([]*string, n)
	for i, j := range order {
		e := events[j]
		provider[i], status[i], key[i], at[i] = e.Provider, e.Status, e.Key, e.At
		id[i], pevent[i], recipient[i] = nullable(e.MessageID), nullable(e.ProviderEvent), nullable(e.Recipient)
		reason[i], suppress[i] = nullable(e.Reason), nullable(e.Suppress)
		if len(e.Raw) > 0 && len(e.Raw) <= maxRaw && json.Valid(e.Raw) {
			raw[i] = nullable(string(e.Raw))
		}
	}
	rows, err := s.pool.Query(ctx, queries.RecordDelivery, provider, id, pevent, status, recipient, reason, at, suppress, key, raw)
	if err != nil {
		return nil, fmt.Errorf("error recording delivery events: %w", err)
	}
	defer rows.Close()
	out := make([]string, n)
	i := 0
	for rows.Next() {
		if i >= n {
			return nil, fmt.Errorf("error recording delivery events: more outcomes than events")
		}
		if err := rows.Scan(&out[order[i]]); err != nil {
			return nil, fmt.Errorf("error recording delivery events: %w", err)
		}
		i++
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("error recording delivery events: %w", err)
	}
	if i != n {
		return nil, fmt.Errorf("error recording delivery events: %d outcomes for %d events", i, n)
	}
	return out, nil
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
