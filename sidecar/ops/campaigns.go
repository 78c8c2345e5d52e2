package ops

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	queries "github.com/symphonymessenger/symphony/sql"
)

// Campaign is one campaign with each recipient counted once, under its
// furthest state (see sql/ops_campaigns.sql).
type Campaign struct {
	ID           int64      `db:"id"`
	Name         string     `db:"name"`
	Status       string     `db:"status"`
	PausedReason *string    `db:"paused_reason"`
	CreatedAt    time.Time  `db:"created_at"`
	StartedAt    *time.Time `db:"started_at"`
	CompletedAt  *time.Time `db:"completed_at"`
	CancelledAt  *time.Time `db:"cancelled_at"`
	CancelledBy  *string    `db:"cancelled_by"`
	Recipients   int64      `db:"recipients"`
	Queued       int64      `db:"queued"`
	Sent         int64      `db:"sent"` // sent, no delivery report yet
	Delivered    int64      `db:"delivered"`
	Bounced      int64      `db:"bounced"`
	Complained   int64      `db:"complained"`
	Unsubscribed int64      `db:"unsubscribed"`
	Skipped      int64      `db:"skipped"`
	Failed       int64      `db:"failed"`
	Cancelled    int64      `db:"cancelled"`
}

// Handed is how many emails the provider accepted, whatever their delivery.
func (c Campaign) Handed() int64 {
	return c.Sent + c.Delivered + c.Bounced + c.Complained + c.Unsubscribed
}

// PerMinute is the campaign's average sending rate since it started, and
// whether there is one.
func (c Campaign) PerMinute(now time.Time) (float64, bool) {
	if c.StartedAt == nil || c.Handed() == 0 {
		return 0, false
	}
	end := now
	if c.CompletedAt != nil {
		end = *c.CompletedAt
	}
	minutes := end.Sub(*c.StartedAt).Minutes()
	if minutes < 1.0/60 {
		minutes = 1.0 / 60
	}
	return float64(c.Handed()) / minutes, true
}

// ETA is when a running campaign should have sent the rest at its rate so far.
func (c Campaign) ETA(now time.Time) (time.Time, bool) {
	rate, ok := c.PerMinute(now)
	if !ok || c.Status != "running" || c.Queued == 0 {
		return time.Time{}, false
	}
	return now.Add(time.Duration(float64(c.Queued) / rate * float64(time.Minute))), true
}

// Campaigns returns the unfinished campaigns and those finished within recent,
// newest first, at most limit.
func (s *Store) Campaigns(ctx context.Context, limit int, recent time.Duration) ([]Campaign, error) {
	return collect[Campaign](ctx, s.db, "campaigns", queries.OpsCampaigns, limit, recent.Milliseconds())
}

// DripStep is one step of a drip and how its enrollments stand at it.
type DripStep struct {
	DripID   int64  `db:"drip_id"`
	Drip     string `db:"name"`
	Position int    `db:"position"`
	Index    int    `db:"idx"`       // 0 for the first step
	Sent     int64  `db:"sent"`      // enrollments sent this step
	Waiting  int64  `db:"waiting"`   // active enrollments due for it next
	OptedOut int64  `db:"opted_out"` // opted out while waiting for it
}

// DripSteps returns every drip's steps, drips by name.
func (s *Store) DripSteps(ctx context.Context) ([]DripStep, error) {
	return collect[DripStep](ctx, s.db, "drip steps", queries.OpsDripSteps)
}

// Batches is one queue's and provider's batch requests over a window.
type Batches struct {
	Queue      string `db:"queue"`
	Provider   string `db:"provider"`
	Requests   int64  `db:"requests"`
	Messages   int64  `db:"messages"`   // emails the requests carried
	Answered   int64  `db:"answered"`   // per-email results written
	Unanswered int64  `db:"unanswered"` // in flight, or to be repeated under the same key
	Failed     int64  `db:"failed"`     // failed or abandoned: the members went out again alone
}

// PerRequest is the mean number of emails a request carried.
func (b Batches) PerRequest() float64 {
	if b.Requests == 0 {
		return 0
	}
	return float64(b.Messages) / float64(b.Requests)
}

// RecentBatches returns the batch requests of the last window, by queue and
// provider (symphony.provider_batches).
func (s *Store) RecentBatches(ctx context.Context, window time.Duration) ([]Batches, error) {
	return collect[Batches](ctx, s.db, "batch requests", queries.OpsBatches, int(window.Seconds()))
}

// CampaignActions are what CampaignAction does.
var CampaignActions = []string{"pause", "resume", "cancel"}

// ErrNoChange is returned for an action that did not apply: pausing a campaign
// that is not running, say.
var ErrNoChange = errors.New("nothing changed")

// CampaignAction pauses, resumes or cancels campaign id as actor (recorded in
// symphony.campaign_actions; empty leaves symphony.actor() to name the
// database user). It returns ErrNoChange when the campaign was not in a state
// the action applies to, or does not exist.
func (s *Store) CampaignAction(ctx context.Context, id int64, action, actor, reason string) error {
	var done *bool
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		if actor != "" {
			if _, err := tx.Exec(ctx, queries.OpsSetActor, actor); err != nil {
				return err
			}
		}
		var r *string
		if reason != "" {
			r = &reason
		}
		return tx.QueryRow(ctx, queries.OpsCampaignAction, id, action, r).Scan(&done)
	})
	if err != nil {
		return fmt.Errorf("error doing %s on campaign %d: %w", action, id, err)
	}
	if done == nil {
		return fmt.Errorf("unknown campaign action %q (actions: pause, resume, cancel)", action)
	}
	if !*done {
		return fmt.Errorf("%s campaign %d: %w", action, id, ErrNoChange)
	}
	return nil
}

// CampaignActionRecord is one row of symphony.campaign_actions.
type CampaignActionRecord struct {
	CampaignID int64     `db:"campaign_id"`
	Name       string    `db:"name"`
	Action     string    `db:"action"`
	Actor      string    `db:"actor"`
	At         time.Time `db:"at"`
	Detail     *string   `db:"detail"`
}

// CampaignActionLog returns the newest campaign actions, at most limit.
func (s *Store) CampaignActionLog(ctx context.Context, limit int) ([]CampaignActionRecord, error) {
	return collect[CampaignActionRecord](ctx, s.db, "campaign actions", queries.OpsCampaignActions, limit)
}
