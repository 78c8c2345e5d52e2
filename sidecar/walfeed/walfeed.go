package walfeed

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
)

// Publication is the publication the schema creates for the feed.
const Publication = "symphony_messages"

// ErrUnavailable means this database or role cannot stream logical changes
// (wal_level is not logical, the role lacks REPLICATION, the publication is
// missing). Retrying will not help; fall back to NOTIFY.
var ErrUnavailable = errors.New("walfeed: logical replication is not available")

// Feed streams inserts into symphony.messages.
type Feed struct {
	connString string
	log        *slog.Logger
	connected  atomic.Bool
	inserts    atomic.Int64

	// OnInsert is called with the queue of every inserted message, in commit
	// order. It must not block.
	OnInsert func(queue string)
	// OnConnect is called after every (re)connect: rows inserted while the feed
	// was down were not seen, so the caller should look for work.
	OnConnect func()
}

// New returns a Feed for the database at connString.
func New(connString string, log *slog.Logger) *Feed {
	return &Feed{connString: connString, log: log.With("component", "walfeed")}
}

// Connected reports whether the feed is streaming.
func (f *Feed) Connected() bool { return f.connected.Load() }

// Inserts is how many inserted rows the feed has seen.
func (f *Feed) Inserts() int64 { return f.inserts.Load() }

// Run streams until ctx ends, reconnecting with backoff after failures. It
// returns an error wrapping ErrUnavailable when streaming cannot work here.
func (f *Feed) Run(ctx context.Context) error {
	backoff := 100 * time.Millisecond
	for {
		start := time.Now()
		err := f.session(ctx)
		f.connected.Store(false)
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, ErrUnavailable) {
			return err
		}
		if time.Since(start) > time.Minute {
			backoff = 100 * time.Millisecond
		}
		wait := backoff/2 + rand.N(backoff/2+1)
		f.log.Warn("WAL feed lost; reconnecting", "error", err, "retry_in", wait)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		backoff = min(backoff*2, 10*time.Second)
	}
}

// unavailable reports errors that mean streaming cannot work in this setup.
func unavailable(err error) bool {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return false
	}
	switch pe.Code {
	case "55000", // object_not_in_prerequisite_state: wal_level < logical
		"42501", // insufficient_privilege: no REPLICATION attribute
		"42704", // undefined_object: publication missing
		"28000": // invalid_authorization_specification: replication not allowed by pg_hba
		return true
	}
	return false
}

func slotName() string {
	var b [6]byte
	_, _ = crand.Read(b[:])
	return "symphony_wake_" + hex.EncodeToString(b[:])
}

// statusEvery is how often the feed confirms what it has read, so the server
// can recycle WAL behind it.
const statusEvery = 5 * time.Second

func (f *Feed) session(ctx context.Context) error {
	cfg, err := pgconn.ParseConfig(f.connString)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	cfg.RuntimeParams["replication"] = "database"
	dialCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	conn, err := pgconn.ConnectConfig(dialCtx, cfg)
	cancel()
	if err != nil {
		if unavailable(err) {
			return fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))

	slot := slotName()
	if _, err := pglogrepl.CreateReplicationSlot(ctx, conn, slot, "pgoutput", pglogrepl.CreateReplicationSlotOptions{
		Temporary: true, Mode: pglogrepl.LogicalReplication, SnapshotAction: "NOEXPORT_SNAPSHOT",
	}); err != nil {
		if unavailable(err) {
			return fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
		return fmt.Errorf("error creating the temporary slot: %w", err)
	}
	if err := pglogrepl.StartReplication(ctx, conn, slot, 0, pglogrepl.StartReplicationOptions{
		PluginArgs: []string{"proto_version '1'", "publication_names '" + Publication + "'"},
	}); err != nil {
		if unavailable(err) {
			return fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
		return fmt.Errorf("error starting replication: %w", err)
	}
	f.connected.Store(true)
	f.log.Info("streaming wake-ups from the WAL", "slot", slot, "publication", Publication)
	if f.OnConnect != nil {
		f.OnConnect()
	}
	return f.stream(ctx, conn)
}

func (f *Feed) stream(ctx context.Context, conn *pgconn.PgConn) error {
	var read pglogrepl.LSN
	queueCol := map[uint32]int{} // relation id → index of the queue column
	next := time.Now().Add(statusEvery)
	for {
		if time.Now().After(next) {
			if err := pglogrepl.SendStandbyStatusUpdate(ctx, conn, pglogrepl.StandbyStatusUpdate{WALWritePosition: read}); err != nil {
				return fmt.Errorf("error confirming WAL position: %w", err)
			}
			next = time.Now().Add(statusEvery)
		}
		rctx, cancel := context.WithDeadline(ctx, next)
		raw, err := conn.ReceiveMessage(rctx)
		cancel()
		if err != nil {
			if ctx.Err() == nil && pgconn.Timeout(err) {
				continue // time to confirm our position
			}
			return err
		}
		switch m := raw.(type) {
		case *pgproto3.ErrorResponse:
			return pgconn.ErrorResponseToPgError(m)
		case *pgproto3.CopyData:
			if len(m.Data) == 0 {
				continue
			}
			switch m.Data[0] {
			case pglogrepl.PrimaryKeepaliveMessageByteID:
				ka, err := pglogrepl.ParsePrimaryKeepaliveMessage(m.Data[1:])
				if err != nil {
					return fmt.Errorf("error parsing keepalive: %w", err)
				}
				if ka.ServerWALEnd > read {
					read = ka.ServerWALEnd
				}
				if ka.ReplyRequested {
					next = time.Time{} // answer at once
				}
			case pglogrepl.XLogDataByteID:
				x, err := pglogrepl.ParseXLogData(m.Data[1:])
				if err != nil {
					return fmt.Errorf("error parsing WAL data: %w", err)
				}
				f.decode(x.WALData, queueCol)
				if end := x.WALStart + pglogrepl.LSN(len(x.WALData)); end > read {
					read = end
				}
			}
		}
	}
}

// decode handles one pgoutput message: relations tell where the queue column
// is; inserts carry the queue.
func (f *Feed) decode(data []byte, queueCol map[uint32]int) {
	msg, err := pglogrepl.Parse(data)
	if err != nil {
		f.log.Warn("undecodable WAL message skipped", "error", err)
		return
	}
	switch m := msg.(type) {
	case *pglogrepl.RelationMessage:
		for i, c := range m.Columns {
			if c.Name == "queue" {
				queueCol[m.RelationID] = i
			}
		}
	case *pglogrepl.InsertMessage:
		f.inserts.Add(1)
		i, ok := queueCol[m.RelationID]
		if !ok || m.Tuple == nil || i >= len(m.Tuple.Columns) || f.OnInsert == nil {
			return
		}
		if col := m.Tuple.Columns[i]; col.DataType == 't' {
			f.OnInsert(string(col.Data))
		}
	}
}
