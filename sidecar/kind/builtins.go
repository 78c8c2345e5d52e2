package kind

import (
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/symphonymessenger/symphony/sidecar/kind/campaign"
	"github.com/symphonymessenger/symphony/sidecar/kind/drip"
	"github.com/symphonymessenger/symphony/sidecar/kind/email"
	"github.com/symphonymessenger/symphony/sidecar/kind/sms"
	"github.com/symphonymessenger/symphony/sidecar/membudget"
	"github.com/symphonymessenger/symphony/sidecar/msgtype"
	"github.com/symphonymessenger/symphony/sidecar/provider"
	"github.com/symphonymessenger/symphony/sidecar/storage"
	"github.com/symphonymessenger/symphony/sidecar/suppression"
)

// Builtins returns the handlers of the built-in kinds. With a database, the
// senders check the suppression list and campaign.process and drip.step are
// handled too.
func Builtins(d Deps) msgtype.Handlers {
	var sup suppression.Checker
	if d.DB != nil {
		sup = &suppression.Batch{DB: d.DB}
	}
	h := msgtype.Handlers{
		"email.send": email.Handler{Sender: d.Email, Namespace: d.Namespace, Storage: d.Storage, MaxAttachmentBytes: d.MaxAttachmentBytes,
			Memory: d.Memory, Suppressions: sup},
		"sms.send": sms.Handler{Sender: d.SMS, Namespace: d.Namespace, Suppressions: sup, Now: d.Now},
	}
	if d.DB != nil {
		h["campaign.process"] = campaign.Handler{DB: d.DB, Now: d.Now}
		h["drip.step"] = drip.Handler{DB: d.DB, Now: d.Now}
	}
	return h
}

// Deps is what the built-in handlers need.
type Deps struct {
	Email     provider.EmailSender
	SMS       provider.SMSSender
	Namespace string // the installation id (symphony.installation)
	// Storage fetches attachments kept in Supabase Storage; nil without SUPABASE_URL.
	Storage            storage.Fetcher
	MaxAttachmentBytes int64
	// Memory bounds the bytes of emails with attachments in flight (nil: none).
	Memory *membudget.Budget
	// DB is where campaigns, drips and the suppression list live.
	DB *pgxpool.Pool
	// Now is the clock of quiet hours and drip timing; time.Now when nil (tests
	// drive it).
	Now func() time.Time
}
