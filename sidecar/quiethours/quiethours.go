package quiethours

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"time"
	_ "time/tzdata" // the window must not depend on the image having zoneinfo
)

// The default window: 08:00 to 21:00 local time.
const (
	DefaultFrom  = "08:00"
	DefaultUntil = "21:00"
)

// Window is when sending is allowed each day, in Location. Until before From
// wraps past midnight (22:00–06:00).
type Window struct {
	Location *time.Location
	From     int // minutes after local midnight, inclusive
	Until    int // minutes after local midnight, exclusive
}

var hhmm = regexp.MustCompile(`^([01][0-9]|2[0-3]):([0-5][0-9])$`)

// New returns the window from..until (HH:MM; empty means the default) in the
// IANA time zone tz.
func New(tz, from, until string) (*Window, error) {
	loc, err := time.LoadLocation(tz)
	if err != nil || tz == "" || tz == "Local" {
		return nil, fmt.Errorf("quiet hours: time zone %q is not an IANA time zone", tz)
	}
	w := &Window{Location: loc}
	for _, f := range []struct {
		name, v, def string
		dst          *int
	}{{"from", from, DefaultFrom, &w.From}, {"until", until, DefaultUntil, &w.Until}} {
		v := f.v
		if v == "" {
			v = f.def
		}
		m := hhmm.FindStringSubmatch(v)
		if m == nil {
			return nil, fmt.Errorf("quiet hours: %s %q is not a time of day HH:MM", f.name, v)
		}
		h, _ := strconv.Atoi(m[1])
		mi, _ := strconv.Atoi(m[2])
		*f.dst = h*60 + mi
	}
	if w.From == w.Until {
		return nil, fmt.Errorf("quiet hours: from and until must differ")
	}
	return w, nil
}

// FromMeta returns the window of a message's meta.quiet_hours
// ({"time_zone", "from", "until"}), or nil when it has none.
func FromMeta(meta json.RawMessage) (*Window, error) {
	if len(meta) == 0 {
		return nil, nil
	}
	var m struct {
		QuietHours *struct {
			TimeZone string `json:"time_zone"`
			From     string `json:"from"`
			Until    string `json:"until"`
		} `json:"quiet_hours"`
	}
	if err := json.Unmarshal(meta, &m); err != nil {
		return nil, fmt.Errorf("quiet hours: meta is not a JSON object: %w", err)
	}
	if m.QuietHours == nil {
		return nil, nil
	}
	return New(m.QuietHours.TimeZone, m.QuietHours.From, m.QuietHours.Until)
}

// Open reports whether now falls inside the window.
func (w *Window) Open(now time.Time) bool {
	local := now.In(w.Location)
	m := local.Hour()*60 + local.Minute()
	if w.From < w.Until {
		return m >= w.From && m < w.Until
	}
	return m >= w.From || m < w.Until
}

// Next returns now when the window is open, else when it next opens.
func (w *Window) Next(now time.Time) time.Time {
	if w.Open(now) {
		return now
	}
	local := now.In(w.Location)
	day := local
	if local.Hour()*60+local.Minute() >= w.From {
		day = local.AddDate(0, 0, 1)
	}
	// time.Date moves a wall time that a DST change skips to a real instant.
	open := time.Date(day.Year(), day.Month(), day.Day(), w.From/60, w.From%60, 0, 0, w.Location)
	if !open.After(now) { // a repeated wall time when clocks go back
		open = now
	}
	return open
}
