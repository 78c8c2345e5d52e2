package quiethours

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func at(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestWindow_NextDefaultWindowInNewYork(t *testing.T) {
	t.Parallel()
	w, err := New("America/New_York", "", "")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct{ now, want string }{
		{"2030-01-15T12:00:00-05:00", "2030-01-15T12:00:00-05:00"}, // noon: open
		{"2030-01-15T08:00:00-05:00", "2030-01-15T08:00:00-05:00"}, // opening minute: open
		{"2030-01-15T07:59:59-05:00", "2030-01-15T08:00:00-05:00"}, // just before: same morning
		{"2030-01-15T21:00:00-05:00", "2030-01-16T08:00:00-05:00"}, // closing minute: next morning
		{"2030-01-15T23:30:00-05:00", "2030-01-16T08:00:00-05:00"},
		{"2030-01-16T02:00:00Z", "2030-01-16T08:00:00-05:00"},      // 21:00 in New York, given in UTC
		{"2030-03-09T22:00:00-05:00", "2030-03-10T08:00:00-04:00"}, // the night clocks go forward
	}
	for _, c := range cases {
		if got := w.Next(at(t, c.now)); !got.Equal(at(t, c.want)) {
			t.Errorf("Next(%s) = %s, want %s", c.now, got, c.want)
		}
	}
}

func TestWindow_WrapsPastMidnight(t *testing.T) {
	t.Parallel()
	w, err := New("UTC", "22:00", "06:00")
	if err != nil {
		t.Fatal(err)
	}
	for now, open := range map[string]bool{
		"2030-01-15T23:00:00Z": true, "2030-01-15T05:59:00Z": true,
		"2030-01-15T06:00:00Z": false, "2030-01-15T12:00:00Z": false,
	} {
		if w.Open(at(t, now)) != open {
			t.Errorf("Open(%s) = %v, want %v", now, !open, open)
		}
	}
	if got := w.Next(at(t, "2030-01-15T12:00:00Z")); !got.Equal(at(t, "2030-01-15T22:00:00Z")) {
		t.Errorf("Next(noon) = %s, want 22:00 the same day", got)
	}
}

// Next is never before now, always inside the window, and never more than a day
// away, whatever the time zone and time.
func TestWindow_NextIsOpenAndSoon(t *testing.T) {
	t.Parallel()
	for _, tz := range []string{"UTC", "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu", "Pacific/Chatham"} {
		w, err := New(tz, "", "")
		if err != nil {
			t.Fatal(err)
		}
		for now := at(t, "2030-01-01T00:00:00Z"); now.Before(at(t, "2031-01-01T00:00:00Z")); now = now.Add(97 * time.Minute) {
			next := w.Next(now)
			if next.Before(now) || !w.Open(next) || next.Sub(now) > 25*time.Hour {
				t.Fatalf("%s: Next(%s) = %s", tz, now, next)
			}
		}
	}
}

func TestFromMeta(t *testing.T) {
	t.Parallel()
	if w, err := FromMeta(json.RawMessage(`{"case": 1}`)); w != nil || err != nil {
		t.Fatalf("no quiet_hours: %v %v", w, err)
	}
	w, err := FromMeta(json.RawMessage(`{"quiet_hours": {"time_zone": "Europe/Paris", "from": "09:30"}}`))
	if err != nil || w.Location.String() != "Europe/Paris" || w.From != 9*60+30 || w.Until != 21*60 {
		t.Fatalf("FromMeta = %+v, %v", w, err)
	}
	for meta, want := range map[string]string{
		`{"quiet_hours": {"time_zone": "Mars/Olympus"}}`:         "time zone",
		`{"quiet_hours": {"time_zone": ""}}`:                     "time zone",
		`{"quiet_hours": {"time_zone": "UTC", "until": "9pm"}}`:  "until",
		`{"quiet_hours": {"time_zone": "UTC", "from": "21:00"}}`: "differ",
		`[1]`: "JSON object",
	} {
		if _, err := FromMeta(json.RawMessage(meta)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("FromMeta(%s) = %v, want an error about %s", meta, err, want)
		}
	}
}
