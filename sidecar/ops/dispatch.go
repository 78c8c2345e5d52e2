package ops

import (
	"context"
	"fmt"

	queries "github.com/symphonymessenger/symphony/sql"
)

// SendEmail dispatches an email through symphony.send_email and returns its id.
// The database validates it; its error names the bad field.
func (s *Store) SendEmail(ctx context.Context, to, from, subject, text, html string) (int64, error) {
	var id int64
	if err := s.db.QueryRow(ctx, queries.OpsSendEmail, to, from, subject, nullable(text), nullable(html)).Scan(&id); err != nil {
		return 0, fmt.Errorf("error dispatching the email: %w", err)
	}
	return id, nil
}

// SendSMS dispatches an SMS through symphony.send_sms and returns its id.
func (s *Store) SendSMS(ctx context.Context, to, body, from string) (int64, error) {
	var id int64
	if err := s.db.QueryRow(ctx, queries.OpsSendSMS, to, body, nullable(from)).Scan(&id); err != nil {
		return 0, fmt.Errorf("error dispatching the SMS: %w", err)
	}
	return id, nil
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
