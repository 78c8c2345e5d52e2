// Package quiethours decides when an SMS may be sent: a daily window in the
// recipient's time zone (08:00–21:00 unless told otherwise). Outside it a
// message is deferred to the window's next opening, never dropped. The window
// comes from an sms.send's meta.quiet_hours (checked at dispatch by the schema)
// or from a drip's settings. The tz database is compiled in, so the sidecar's
// image needs no zoneinfo files.
package quiethours
