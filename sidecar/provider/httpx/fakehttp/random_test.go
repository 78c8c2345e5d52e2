package fakehttp_test

import (
	"math"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/symphonymessenger/symphony/sidecar/provider/httpx/fakehttp"
	"github.com/symphonymessenger/symphony/sidecar/provider/twilio/twiliofake"
)

func TestFaults_RandomFailsAboutRateAndCountsByMix(t *testing.T) {
	t.Parallel()
	var f fakehttp.Faults
	mix := []fakehttp.Fault{fakehttp.Status(500), fakehttp.RateLimited("1"), fakehttp.Reset()}
	f.SetRandom(fakehttp.Random{Rate: 0.3, Mix: mix, Seed: 42})
	const n = 20000
	failed := 0
	for range n {
		if g := f.NextFault(); g.Kind != fakehttp.KindNone || g.Delay != 0 {
			failed++
		}
	}
	if share := float64(failed) / n; math.Abs(share-0.3) > 0.02 {
		t.Fatalf("%d of %d requests failed (%.3f), want about 0.3", failed, n, share)
	}
	counts := f.RandomCounts()
	sum := 0
	for i, c := range counts {
		sum += c
		if c < failed/len(mix)/2 {
			t.Errorf("mix entry %d drawn %d times of %d: not uniform", i, c, failed)
		}
	}
	if len(counts) != len(mix) || sum != failed {
		t.Fatalf("counts %v sum to %d, want %d over %d entries", counts, sum, failed, len(mix))
	}
}

func TestFaults_QueuedBeforeRandomAndOff(t *testing.T) {
	t.Parallel()
	var f fakehttp.Faults
	f.SetRandom(fakehttp.Random{Rate: 1, Mix: []fakehttp.Fault{fakehttp.Status(503)}})
	f.Inject(fakehttp.Status(418))
	if g := f.NextFault(); g.Status != 418 {
		t.Fatalf("first fault %+v, want the queued 418", g)
	}
	if g := f.NextFault(); g.Status != 503 {
		t.Fatalf("then %+v, want a random 503 at rate 1", g)
	}
	f.SetRandom(fakehttp.Random{})
	if g := f.NextFault(); g.Kind != fakehttp.KindNone || g.Status != 0 || f.RandomCounts() != nil {
		t.Fatalf("after turning random faults off: %+v, counts %v", g, f.RandomCounts())
	}
}

func TestFaults_RandomSeedRepeats(t *testing.T) {
	t.Parallel()
	seq := func() string {
		var f fakehttp.Faults
		f.SetRandom(fakehttp.Random{Rate: 0.5, Seed: 7})
		var b strings.Builder
		for range 200 {
			g := f.NextFault()
			b.WriteByte(byte('a' + int(g.Kind)))
		}
		return b.String()
	}
	if a, b := seq(), seq(); a != b {
		t.Fatal("the same seed drew different faults")
	}
}

func TestFaults_RandomRejectsBadRate(t *testing.T) {
	t.Parallel()
	defer func() {
		if recover() == nil {
			t.Fatal("Rate 1.5 was accepted")
		}
	}()
	var f fakehttp.Faults
	f.SetRandom(fakehttp.Random{Rate: 1.5})
}

// Through a real fake: random faults reach the wire as the fake's own answers,
// and requests that draw none are served normally.
func TestFaults_RandomThroughAFake(t *testing.T) {
	t.Parallel()
	fake := twiliofake.New(twiliofake.Options{})
	t.Cleanup(fake.Close)
	fake.SetRandom(fakehttp.Random{Rate: 0.5, Mix: []fakehttp.Fault{fakehttp.Status(500)}, Seed: 3})
	form := url.Values{"To": {"+14155550100"}, "From": {"+14155550000"}, "Body": {"hi"}}.Encode()
	codes := map[int]int{}
	for range 60 {
		req, _ := http.NewRequest(http.MethodPost, fake.URL()+"/2010-04-01/Accounts/"+twiliofake.DefaultAccountSID+"/Messages.json", strings.NewReader(form))
		req.SetBasicAuth(twiliofake.DefaultAccountSID, twiliofake.DefaultAuthToken)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		client := &http.Client{Timeout: 5 * time.Second}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		codes[resp.StatusCode]++
	}
	if codes[500] != fake.RandomCounts()[0] || codes[201] != len(fake.Messages()) || codes[500]+codes[201] != 60 || codes[500] == 0 || codes[201] == 0 {
		t.Fatalf("answers %v, random faults %v, messages %d", codes, fake.RandomCounts(), len(fake.Messages()))
	}
}
