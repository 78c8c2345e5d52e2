package httpx

import (
	"context"
	"fmt"
	"log/slog"
)

// leveledLogger adapts *slog.Logger to go-retryablehttp's LeveledLogger.
//
// The library reports each failed attempt at Error level; here that becomes
// Warn, because a failed attempt is not yet a failed send: the provider
// classifies the final outcome and the caller logs it once, at the top.
//
// The library quotes request URLs (in its url and request values, and in the
// transport errors it passes on) with only a password redacted. Paths and
// queries are cut too (RedactURLs): a webhook's may carry a token.
type leveledLogger struct {
	l *slog.Logger
}

func newLeveledLogger(l *slog.Logger) leveledLogger {
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	return leveledLogger{l: l.With("component", "httpx")}
}

func (a leveledLogger) Error(msg string, kv ...any) { a.log(slog.LevelWarn, msg, kv) }
func (a leveledLogger) Warn(msg string, kv ...any)  { a.log(slog.LevelWarn, msg, kv) }
func (a leveledLogger) Info(msg string, kv ...any)  { a.log(slog.LevelInfo, msg, kv) }
func (a leveledLogger) Debug(msg string, kv ...any) { a.log(slog.LevelDebug, msg, kv) }

func (a leveledLogger) log(level slog.Level, msg string, kv []any) {
	if !a.l.Enabled(context.Background(), level) {
		return
	}
	for i := 1; i < len(kv); i += 2 {
		switch v := kv[i].(type) {
		case string:
			kv[i] = RedactURLs(v)
		case error, fmt.Stringer:
			kv[i] = RedactURLs(fmt.Sprint(v))
		}
	}
	a.l.Log(context.Background(), level, msg, kv...)
}
