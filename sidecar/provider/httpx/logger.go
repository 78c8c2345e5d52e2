package httpx

import "log/slog"

// leveledLogger adapts *slog.Logger to go-retryablehttp's LeveledLogger.
//
// The library reports each failed attempt at Error level; here that becomes
// Warn, because a failed attempt is not yet a failed send: the provider
// classifies the final outcome and the caller logs it once, at the top.
type leveledLogger struct {
	l *slog.Logger
}

func newLeveledLogger(l *slog.Logger) leveledLogger {
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	return leveledLogger{l: l.With("component", "httpx")}
}

func (a leveledLogger) Error(msg string, kv ...any) { a.l.Warn(msg, kv...) }
func (a leveledLogger) Warn(msg string, kv ...any)  { a.l.Warn(msg, kv...) }
func (a leveledLogger) Info(msg string, kv ...any)  { a.l.Info(msg, kv...) }
func (a leveledLogger) Debug(msg string, kv ...any) { a.l.Debug(msg, kv...) }
