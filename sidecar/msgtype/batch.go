package msgtype

import (
	"context"
	"encoding/json"
)

// BatchHandler is a Handler whose provider takes several messages in one
// request.
type BatchHandler interface {
	Handler
	// BatchKey says, from the claimed row alone (no decoding), whether m may
	// share a request, with which others (the same key), and how many one
	// request takes. ok false: m goes single.
	BatchKey(m *Message) (key string, max int, ok bool)
	// HandleBatch sends c's messages, in as few requests as it can, and
	// returns one result per message, in order.
	HandleBatch(ctx context.Context, c BatchCall) []BatchResult
}

// BatchResult is one message's result in a batch: as Handle's.
type BatchResult struct {
	Result json.RawMessage
	Err    error
}

// The outcomes of a batch request (BatchCall.Finish).
const (
	BatchAnswered = "answered" // the provider answered per member
	BatchFailed   = "failed"   // the request as a whole failed for good
)

// BatchCall is a batch unit: messages of one batch key, handed to
// HandleBatch together, and the record of the batch requests made for them.
// A batch is recorded before its first call (Record), so that a member
// retried after a crash finds it and the retry repeats the same request under
// the same key.
type BatchCall interface {
	// Messages are the members, in order.
	Messages() []*Message
	// Job is what the kind's Preparer prepared for member i, or nil.
	Job(i int) Job
	// Repeating reports whether the members are those of an unfinished
	// batch, in its order: the handler sends exactly that request again
	// (Again) or, if it cannot (a member's content or recipients changed),
	// abandons it (Abandon) and sends the members as new requests.
	Repeating() (batchID int64, ok bool)
	// Record records a new batch of the members at indexes idx (request
	// order) before its first call, and returns its id (its key is
	// keyPrefix and the id) and its call number.
	Record(ctx context.Context, provider, keyPrefix string, idx []int) (batchID int64, attempt int, err error)
	// Again records another call of the batch being repeated, made with
	// every member in order, and returns the call's number. An error: it
	// was finished or abandoned meanwhile; the members go out as new
	// requests, as after Abandon.
	Again(ctx context.Context) (attempt int, err error)
	// Abandon gives up repeating the batch: its members, sent next under
	// other keys, are flagged as possible duplicates when it may have been
	// accepted.
	Abandon(ctx context.Context)
	// Single records that member i went out in a request of its own.
	Single(i int)
	// Finish sets the outcome written with the results of the batch request
	// recorded last (BatchAnswered, BatchFailed). Not called: the batch
	// stays unfinished and a retry of its members repeats it.
	Finish(outcome string)
}
