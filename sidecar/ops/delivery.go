package ops

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	queries "github.com/symphonymessenger/symphony/sql"
)

// DeliveryDay is one channel's sending and the providers' reports of one day.
type DeliveryDay struct {
	Day        time.Time
	Sent       int64 // messages the provider accepted (queue email or sms)
	Delivered  int64
	Bounced    int64 // hard bounces, and messages the provider dropped
	Complained int64
	Delayed    int64
}

// Rate is n out of the day's sent messages, in percent; ok is false on a day
// with nothing sent.
func (d DeliveryDay) Rate(n int64) (pct float64, ok bool) {
	if d.Sent == 0 {
		return 0, false
	}
	return 100 * float64(n) / float64(d.Sent), true
}

// ComplaintRate is complaints out of delivered messages (how mailbox providers
// count a spam rate), or out of sent ones while no delivery is reported.
func (d DeliveryDay) ComplaintRate() (pct float64, ok bool) {
	if d.Delivered > 0 {
		return 100 * float64(d.Complained) / float64(d.Delivered), true
	}
	return d.Rate(d.Complained)
}

// DeliveryHistory is a channel (email or sms) day by day.
type DeliveryHistory struct {
	Channel string
	Days    []DeliveryDay // one per day, oldest first
	Total   DeliveryDay
}

// DeliveryHistory reads days days of sending and delivery reports ending
// today (UTC), for channels email and sms.
func (s *Store) DeliveryHistory(ctx context.Context, days int, now time.Time) ([]DeliveryHistory, error) {
	today := now.UTC().Truncate(24 * time.Hour)
	first := today.AddDate(0, 0, -(days - 1))
	out := []DeliveryHistory{{Channel: "email"}, {Channel: "sms"}}
	for i := range out {
		out[i].Days = make([]DeliveryDay, days)
		for d := range out[i].Days {
			out[i].Days[d].Day = first.AddDate(0, 0, d)
		}
	}
	rows, err := s.db.Query(ctx, queries.OpsDeliveryDays, first)
	if err != nil {
		return nil, fmt.Errorf("error reading delivery history: %w", err)
	}
	var day time.Time
	var channel, status string
	var n int64
	_, err = pgx.ForEachRow(rows, []any{&day, &channel, &status, &n}, func() error {
		i := int(day.Sub(first) / (24 * time.Hour))
		c := 0
		if channel == "sms" {
			c = 1
		}
		if i < 0 || i >= days {
			return nil
		}
		for _, d := range []*DeliveryDay{&out[c].Days[i], &out[c].Total} {
			switch status {
			case "sent":
				d.Sent += n
			case "delivered":
				d.Delivered += n
			case "bounced", "undelivered":
				d.Bounced += n
			case "complained":
				d.Complained += n
			case "delayed":
				d.Delayed += n
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("error reading delivery history: %w", err)
	}
	return out, nil
}
