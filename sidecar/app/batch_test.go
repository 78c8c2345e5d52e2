package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/symphonymessenger/symphony/sidecar/config"
	"github.com/symphonymessenger/symphony/sidecar/internal/pgtest"
	emailkind "github.com/symphonymessenger/symphony/sidecar/kind/email"
	"github.com/symphonymessenger/symphony/sidecar/provider"
	"github.com/symphonymessenger/symphony/sidecar/provider/httpx/fakehttp"
	"github.com/symphonymessenger/symphony/sidecar/provider/postmark"
	"github.com/symphonymessenger/symphony/sidecar/provider/postmark/postmarkfake"
	"github.com/symphonymessenger/symphony/sidecar/provider/resend"
	"github.com/symphonymessenger/symphony/sidecar/provider/resend/resendfake"
	"github.com/symphonymessenger/symphony/sidecar/queue"
)

// bulkPayload is a bulk email to addr; tag, when set, is its one tag's value.
func bulkPayload(addr, tag string) string {
	p := fmt.Sprintf(`{"to":%q,"from":"news@example.com","subject":"News","text":"Hello"`, addr)
	if tag != "" {
		p += fmt.Sprintf(`,"tags":{"campaign":%q}`, tag)
	}
	return p + "}"
}

// dispatchBulk dispatches one bulk email (priority -1, as a campaign's) per
// address, and returns their ids in order.
func dispatchBulk(t *testing.T, pool *pgxpool.Pool, addrs ...string) []int64 {
	t.Helper()
	ids := make([]int64, len(addrs))
	for i, a := range addrs {
		ids[i] = dispatchID(t, pool, "email.send", bulkPayload(a, ""), `{"priority": -1}`)
	}
	return ids
}

func addresses(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%d@example.com", prefix, i)
	}
	return out
}

func resendConfig(db *pgtest.DB, fake *resendfake.Server) config.Config {
	cfg := testConfig(db)
	cfg.EmailProvider, cfg.Providers.ResendAPIKey, cfg.Providers.ResendURL = "resend", resendfake.DefaultAPIKey, fake.URL()
	return cfg
}

func postmarkConfig(db *pgtest.DB, fake *postmarkfake.Server) config.Config {
	cfg := testConfig(db)
	cfg.EmailProvider, cfg.Providers.PostmarkServerToken, cfg.Providers.PostmarkURL = "postmark", postmarkfake.DefaultServerToken, fake.URL()
	return cfg
}

// requestsTo counts the fake's requests to path.
func requestsTo(reqs []fakehttp.Request, path string) int {
	n := 0
	for _, r := range reqs {
		if r.Path == path {
			n++
		}
	}
	return n
}

// batchRows returns every provider_batches row as "outcome/attempts/members".
func batchRows(t *testing.T, pool *pgxpool.Pool) []string {
	t.Helper()
	rows, err := pool.Query(context.Background(),
		`select coalesce(outcome, 'unfinished') || '/' || attempts || '/' || cardinality(message_ids) from symphony.provider_batches order by id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

// finished waits until none of ids is pending or processing.
func finished(t *testing.T, db *pgtest.DB, ids []int64) {
	t.Helper()
	waitFor(t, 30*time.Second, "every message to finish", func() bool {
		return queryInt(t, db, `select count(*) from symphony.messages where id = any($1) and state in ('pending', 'processing')`, ids) == 0
	})
}

type msgState struct {
	State, Code, Result string
}

func states(t *testing.T, pool *pgxpool.Pool, ids []int64) []msgState {
	t.Helper()
	out := make([]msgState, len(ids))
	for i, id := range ids {
		err := pool.QueryRow(context.Background(), `select state::text, coalesce(errors->-1->>'code', ''), coalesce(result::text, '')
			from symphony.messages where id = $1`, id).Scan(&out[i].State, &out[i].Code, &out[i].Result)
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// Resend: bulk emails go out through POST /emails/batch, in permissive mode,
// each member with its own outcome: one whose payload no longer decodes (it
// was changed after dispatch) dies, one whose recipient opted out since is
// cancelled (checked right before the request), and the others succeed with
// ids of their own; the batch is recorded as answered. (A member Resend
// refuses by index in the answer is the resend package's test: every rule
// its fake checks, dispatch checks first.)
func TestBatch_ResendPartialFailure(t *testing.T) {
	t.Parallel()
	db := testDB(t)
	fake := resendfake.New(resendfake.Options{})
	t.Cleanup(fake.Close)
	ids := dispatchBulk(t, db.Pool, addresses("r", 6)...)
	exec(t, db.Pool, `update symphony.messages set payload = payload || '{"tags": {"campaign": "spring sale!"}}' where id = $1`, ids[1])
	exec(t, db.Pool, `select symphony.suppress('email', 'r3@example.com', 'unsubscribed')`)
	start(t, resendConfig(db, fake), nil, nil)
	finished(t, db, ids)

	got := states(t, db.Pool, ids)
	seen := map[string]bool{}
	for i, s := range got {
		switch i {
		case 1:
			if s.State != "dead" {
				t.Errorf("the email that no longer decodes: %+v, want dead", s)
			}
		case 3:
			if s.State != "cancelled" {
				t.Errorf("the opted-out recipient's email: %+v, want cancelled", s)
			}
		default:
			var r provider.Receipt
			if s.State != "succeeded" || json.Unmarshal([]byte(s.Result), &r) != nil || r.MessageID == "" || seen[r.MessageID] {
				t.Errorf("email %d: %+v, want succeeded with an id of its own", i, s)
			}
			seen[r.MessageID] = true
		}
	}
	reqs := fake.Requests()
	if n := requestsTo(reqs, "/emails/batch"); n == 0 || requestsTo(reqs, "/emails") != 0 {
		t.Fatalf("%d batch requests and %d single ones for %d bulk emails", n, requestsTo(reqs, "/emails"), len(ids))
	}
	for _, r := range reqs {
		if r.Header.Get("X-Batch-Validation") != "permissive" || !strings.Contains(r.Header.Get("Idempotency-Key"), "-batch-") {
			t.Fatalf("batch request headers: %v", r.Header)
		}
	}
	if len(fake.Emails()) != 4 {
		t.Fatalf("the fake accepted %d emails, want 4", len(fake.Emails()))
	}
	for _, b := range batchRows(t, db.Pool) {
		if !strings.HasPrefix(b, "answered/1/") {
			t.Errorf("batch %s, want answered after one call", b)
		}
	}
}

// Postmark: one POST /email/batch answers per message; an inactive
// recipient's ErrorCode 406 kills that message alone, with the code.
func TestBatch_PostmarkPartialFailure(t *testing.T) {
	t.Parallel()
	db := testDB(t)
	fake := postmarkfake.New(postmarkfake.Options{InactiveRecipients: []string{"p2@example.com"}})
	t.Cleanup(fake.Close)
	ids := dispatchBulk(t, db.Pool, addresses("p", 5)...)
	start(t, postmarkConfig(db, fake), nil, nil)
	finished(t, db, ids)
	for i, s := range states(t, db.Pool, ids) {
		want := "succeeded"
		if i == 2 {
			want = "dead"
			if s.Code != "406" {
				t.Errorf("the inactive recipient's code %q, want 406", s.Code)
			}
		}
		if s.State != want || strings.Contains(s.Result, "possible_duplicate") {
			t.Errorf("email %d: %+v, want %s", i, s, want)
		}
	}
	reqs := fake.Requests()
	if n := requestsTo(reqs, "/email/batch"); n == 0 || requestsTo(reqs, "/email") != 0 {
		t.Fatalf("%d batch requests and %d single ones", n, requestsTo(reqs, "/email"))
	}
	if len(fake.Messages()) != 4 {
		t.Fatalf("the fake accepted %d messages, want 4", len(fake.Messages()))
	}
}

// Whole-request failures, by provider. Resend: a 500 leaves the batch
// unfinished; the members retry together and repeat it under the same key
// (the batch's second call), and a request accepted but whose answer was lost
// (the connection reset) is sent again at once under that key and answered
// from it: each recipient gets one email. A 401 fails it for good: every
// member dies, the batch is recorded failed.
func TestBatch_ResendWholeRequestErrors(t *testing.T) {
	t.Parallel()
	t.Run("5xx then lost answer", func(t *testing.T) {
		t.Parallel()
		db := testDB(t)
		fake := resendfake.New(resendfake.Options{})
		t.Cleanup(fake.Close)
		fake.Inject(resendfake.ErrorFault(500, "internal_server_error", "An unexpected error occurred."),
			fakehttp.Fault{Kind: fakehttp.KindResetAfterAccept})
		ids := dispatchBulk(t, db.Pool, addresses("w", 4)...)
		start(t, resendConfig(db, fake), nil, nil)
		finished(t, db, ids)
		for i, s := range states(t, db.Pool, ids) {
			if s.State != "succeeded" || strings.Contains(s.Result, "possible_duplicate") {
				t.Errorf("email %d: %+v", i, s)
			}
		}
		perTo := map[string]int{}
		for _, e := range fake.Emails() {
			perTo[e.To[0]]++
		}
		if len(perTo) != 4 || len(fake.Emails()) != 4 {
			t.Fatalf("the fake accepted %d emails for %d recipients, want one each of 4: %v", len(fake.Emails()), len(perTo), perTo)
		}
		keys := map[string]bool{}
		for _, r := range fake.Requests() {
			keys[r.Header.Get("Idempotency-Key")] = true
		}
		if fake.RequestCount() != 3 || len(keys) != 1 {
			t.Fatalf("%d requests under %d keys, want 3 under one", fake.RequestCount(), len(keys))
		}
		if b := batchRows(t, db.Pool); len(b) != 1 || b[0] != "answered/2/4" {
			t.Fatalf("batches %v, want one answered after 2 calls", b)
		}
	})
	t.Run("401", func(t *testing.T) {
		t.Parallel()
		db := testDB(t)
		fake := resendfake.New(resendfake.Options{})
		t.Cleanup(fake.Close)
		fake.Inject(resendfake.ErrorFault(401, "validation_error", "API key is invalid"))
		ids := dispatchBulk(t, db.Pool, addresses("k", 3)...)
		start(t, resendConfig(db, fake), nil, nil)
		finished(t, db, ids)
		for i, s := range states(t, db.Pool, ids) {
			if s.State != "dead" {
				t.Errorf("email %d: %+v, want dead", i, s)
			}
		}
		if b := batchRows(t, db.Pool); len(b) != 1 || b[0] != "failed/1/3" {
			t.Fatalf("batches %v, want one failed", b)
		}
	})
}

// The write of an answered batch's results fails once (the database refuses
// it). The sidecar tries the write again, the results with the batch's
// outcome in one transaction, never the results alone: a batch left
// unfinished under written results would make a later retry of any member
// find it, fail to gather it and flag that retry a possible duplicate.
func TestBatch_ResultsWrittenWithTheirBatchAfterAFailedWrite(t *testing.T) {
	t.Parallel()
	db := testDB(t)
	exec(t, db.Pool, `create sequence public.batch_write_faults`)
	exec(t, db.Pool, `create function public.fail_first_batch_write() returns trigger language plpgsql as $$
		begin
		  if new.outcome is not null and nextval('public.batch_write_faults') = 1 then
		    raise exception 'injected: the first write of a batch''s outcome fails';
		  end if;
		  return new;
		end $$`)
	exec(t, db.Pool, `create trigger fail_first_batch_write before update on symphony.provider_batches
		for each row execute function public.fail_first_batch_write()`)
	fake := resendfake.New(resendfake.Options{})
	t.Cleanup(fake.Close)
	ids := dispatchBulk(t, db.Pool, addresses("f", 4)...)
	start(t, resendConfig(db, fake), nil, nil)
	finished(t, db, ids)

	if n := queryInt(t, db, `select last_value from public.batch_write_faults`); n < 2 {
		t.Fatalf("the batch's outcome was written %d times, want the failed write and another", n)
	}
	for i, s := range states(t, db.Pool, ids) {
		if s.State != "succeeded" || strings.Contains(s.Result, "possible_duplicate") {
			t.Errorf("email %d: %+v, want succeeded, not flagged", i, s)
		}
	}
	if fake.RequestCount() != 1 || len(fake.Emails()) != 4 {
		t.Fatalf("%d requests, %d emails accepted; want one request of 4", fake.RequestCount(), len(fake.Emails()))
	}
	if b := batchRows(t, db.Pool); len(b) != 1 || b[0] != "answered/1/4" {
		t.Fatalf("batches %v, want one answered after one call", b)
	}
}

// Postmark takes no idempotency key: a 500 fails the batch for good, its
// members may have been sent, so each goes out again alone and its success
// is flagged possible_duplicate.
func TestBatch_PostmarkServerError(t *testing.T) {
	t.Parallel()
	db := testDB(t)
	fake := postmarkfake.New(postmarkfake.Options{})
	t.Cleanup(fake.Close)
	fake.Inject(postmarkfake.ErrorFault(500, 0, "Internal server error"))
	ids := dispatchBulk(t, db.Pool, addresses("q", 3)...)
	start(t, postmarkConfig(db, fake), nil, nil)
	finished(t, db, ids)
	for i, s := range states(t, db.Pool, ids) {
		if s.State != "succeeded" || !strings.Contains(s.Result, `"possible_duplicate": true`) {
			t.Errorf("email %d: %+v, want succeeded and flagged", i, s)
		}
	}
	reqs := fake.Requests()
	if requestsTo(reqs, "/email/batch") != 1 || requestsTo(reqs, "/email") != 3 {
		t.Fatalf("%d batch and %d single requests, want the failed batch then 3 singles",
			requestsTo(reqs, "/email/batch"), requestsTo(reqs, "/email"))
	}
	if b := batchRows(t, db.Pool); len(b) != 1 || b[0] != "failed/1/3" {
		t.Fatalf("batches %v, want one failed", b)
	}
}

// crashAfterAccept leaves the database as a sidecar killed with SIGKILL right
// after the provider accepted a batch leaves it: the members claimed, the
// batch recorded and sent, nothing written back; then the leases expire and
// rescue returns the members to pending. It returns the members' ids.
func crashAfterAccept(t *testing.T, db *pgtest.DB, providerName string, send func(provider.Batch, []*provider.Email) error, n int) []int64 {
	t.Helper()
	ctx := context.Background()
	ids := dispatchBulk(t, db.Pool, addresses("c", n)...)
	store := queue.NewStore(db.Pool, "crashed")
	ns, err := store.InstallationID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := store.Claim(ctx, "email", n, time.Minute)
	if err != nil || len(msgs) != n {
		t.Fatalf("claimed %d of %d: %v", len(msgs), n, err)
	}
	emails := make([]*provider.Email, n)
	claimed := make([]int64, n)
	for i, m := range msgs {
		if emails[i], _, err = emailkind.DecodeEmail(m.Payload); err != nil {
			t.Fatal(err)
		}
		claimed[i] = m.ID
	}
	b, err := store.RecordBatch(ctx, providerName, "email", provider.BatchKeyPrefix(ns), claimed)
	if err != nil {
		t.Fatal(err)
	}
	if err := send(provider.Batch{Namespace: ns, ID: b.ID, Attempt: 1}, emails); err != nil {
		t.Fatal(err)
	}
	exec(t, db.Pool, `update symphony.messages set locked_until = now() - interval '1 second' where state = 'processing'`)
	exec(t, db.Pool, `select symphony.rescue_expired()`)
	return ids
}

// A batch accepted by Resend just before its sidecar died is repeated by the
// next sidecar with the same members, order and key: Resend answers with the
// original ids, and each recipient has one email. With 2 slots, the first
// claim holds 2 of the 5 members: the sidecar claims the other 3 to repeat it.
func TestBatch_ResendRetryAfterCrashSendsOnce(t *testing.T) {
	t.Parallel()
	for _, slots := range []int{8, 2} {
		t.Run(fmt.Sprintf("%d slots", slots), func(t *testing.T) {
			t.Parallel()
			db := testDB(t)
			fake := resendfake.New(resendfake.Options{})
			t.Cleanup(fake.Close)
			client, err := resend.New(resend.Config{APIKey: resendfake.DefaultAPIKey, BaseURL: fake.URL()})
			if err != nil {
				t.Fatal(err)
			}
			var firstIDs []string
			ids := crashAfterAccept(t, db, "resend", func(b provider.Batch, emails []*provider.Email) error {
				res, err := client.SendEmailBatch(context.Background(), b, emails)
				for _, r := range res {
					firstIDs = append(firstIDs, r.Receipt.MessageID)
				}
				return err
			}, 5)
			cfg := resendConfig(db, fake)
			cfg.Queues = map[string]int{"email": slots}
			start(t, cfg, nil, nil)
			finished(t, db, ids)
			for i, s := range states(t, db.Pool, ids) {
				var r provider.Receipt
				if s.State != "succeeded" || json.Unmarshal([]byte(s.Result), &r) != nil || r.MessageID != firstIDs[i] || r.PossibleDuplicate {
					t.Errorf("email %d: %+v, want succeeded with the first call's id %s, not flagged", i, s, firstIDs[i])
				}
			}
			if len(fake.Emails()) != 5 || fake.RequestCount() != 2 {
				t.Fatalf("%d emails accepted in %d requests, want 5 in 2 (the call and its repeat)", len(fake.Emails()), fake.RequestCount())
			}
			if b := batchRows(t, db.Pool); len(b) != 1 || b[0] != "answered/2/5" {
				t.Fatalf("batches %v, want one, answered after 2 calls", b)
			}
		})
	}
}

// The same crash through Postmark, which takes no key: the repeat may send
// again, so every member's success is flagged possible_duplicate.
func TestBatch_PostmarkRetryAfterCrashFlagged(t *testing.T) {
	t.Parallel()
	db := testDB(t)
	fake := postmarkfake.New(postmarkfake.Options{})
	t.Cleanup(fake.Close)
	client, err := postmark.New(postmark.Config{ServerToken: postmarkfake.DefaultServerToken, BaseURL: fake.URL()})
	if err != nil {
		t.Fatal(err)
	}
	ids := crashAfterAccept(t, db, "postmark", func(b provider.Batch, emails []*provider.Email) error {
		_, err := client.SendEmailBatch(context.Background(), b, emails)
		return err
	}, 4)
	start(t, postmarkConfig(db, fake), nil, nil)
	finished(t, db, ids)
	for i, s := range states(t, db.Pool, ids) {
		if s.State != "succeeded" || !strings.Contains(s.Result, `"possible_duplicate": true`) {
			t.Errorf("email %d: %+v, want succeeded and flagged", i, s)
		}
	}
}

// A batch that cannot be repeated exactly (a member was cancelled since the
// crash) is abandoned: the others go out in a new request under a new key,
// and since the abandoned one may have been accepted, each is flagged.
func TestBatch_UnrepeatableBatchAbandonedAndFlagged(t *testing.T) {
	t.Parallel()
	db := testDB(t)
	fake := resendfake.New(resendfake.Options{})
	t.Cleanup(fake.Close)
	client, err := resend.New(resend.Config{APIKey: resendfake.DefaultAPIKey, BaseURL: fake.URL()})
	if err != nil {
		t.Fatal(err)
	}
	ids := crashAfterAccept(t, db, "resend", func(b provider.Batch, emails []*provider.Email) error {
		_, err := client.SendEmailBatch(context.Background(), b, emails)
		return err
	}, 4)
	exec(t, db.Pool, `select symphony.cancel($1)`, ids[0])
	start(t, resendConfig(db, fake), nil, nil)
	finished(t, db, ids[1:])
	for i, s := range states(t, db.Pool, ids[1:]) {
		if s.State != "succeeded" || !strings.Contains(s.Result, `"possible_duplicate": true`) {
			t.Errorf("email %d: %+v, want succeeded and flagged", i+1, s)
		}
	}
	if b := batchRows(t, db.Pool); len(b) < 1 || b[0] != "abandoned/1/4" {
		t.Fatalf("batches %v, want the first abandoned", b)
	}
}

// A transactional email dispatched into a bulk backlog goes out alone, through
// POST /emails, while the backlog goes through POST /emails/batch.
func TestBatch_TransactionalGoesSingleDuringBacklog(t *testing.T) {
	t.Parallel()
	db := testDB(t)
	fake := resendfake.New(resendfake.Options{})
	t.Cleanup(fake.Close)
	ids := dispatchBulk(t, db.Pool, addresses("b", 250)...)
	urgent := dispatchID(t, db.Pool, "email.send", bulkPayload("reset@example.com", ""), `{}`)
	urgentMeta := dispatchID(t, db.Pool, "email.send", bulkPayload("receipt@example.com", ""), `{"priority": -1, "meta": {"transactional": true}}`)
	s := start(t, resendConfig(db, fake), nil, nil)
	finished(t, db, append(ids, urgent, urgentMeta))
	var singles []string
	batched := 0
	for _, r := range fake.Requests() {
		switch r.Path {
		case "/emails":
			var e struct {
				To []string `json:"to"`
			}
			_ = json.Unmarshal(r.Body, &e)
			singles = append(singles, strings.Join(e.To, ","))
		case "/emails/batch":
			batched++
		}
	}
	if len(singles) != 2 || !strings.Contains(strings.Join(singles, " "), "reset@example.com") ||
		!strings.Contains(strings.Join(singles, " "), "receipt@example.com") {
		t.Fatalf("single requests %v, want the two transactional emails", singles)
	}
	if batched == 0 || batched > 10 {
		t.Fatalf("%d batch requests for 250 bulk emails", batched)
	}
	if n := countState(t, db.Pool, "succeeded"); n != 252 {
		t.Fatalf("%d succeeded, want 252", n)
	}

	// Visible: requests by mode and batch sizes in /metrics, per queue in /status.
	_, metrics := s.get(t, "/metrics")
	for _, line := range []string{
		fmt.Sprintf(`symphony_send_requests_total{mode="batch",queue="email"} %d`, batched),
		`symphony_send_requests_total{mode="single",queue="email"} 2`,
		`symphony_send_request_messages_total{mode="batch",queue="email"} 250`,
		fmt.Sprintf(`symphony_batch_size_count{queue="email"} %d`, batched),
	} {
		if !strings.Contains(metrics, line) {
			t.Errorf("/metrics lacks %s", line)
		}
	}
	_, body := s.get(t, "/status")
	var status struct {
		Queues map[string]struct {
			BatchRequests   int64   `json:"batch_requests"`
			BatchedMessages int64   `json:"batched_messages"`
			SingleRequests  int64   `json:"single_requests"`
			PerMessage      float64 `json:"requests_per_message"`
		} `json:"queues"`
	}
	if err := json.Unmarshal([]byte(body), &status); err != nil {
		t.Fatal(err)
	}
	q := status.Queues["email"]
	if q.BatchRequests != int64(batched) || q.BatchedMessages != 250 || q.SingleRequests != 2 ||
		q.PerMessage != float64(batched+2)/252 {
		t.Fatalf("/status email queue: %+v", q)
	}
}
