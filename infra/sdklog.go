package infra

import (
	"context"
	"errors"
	"log/slog"
	"strings"

	"go.temporal.io/sdk/temporal"

	"icesurvey/fault"
)

// awaitedAtInfo wraps the handler of the SDK's log so that its "Activity error" record
// for an attempt that failed by design — a poll for a DBS reply not come yet
// (fault.NotReady), a wait for the warehouse's lock (fault.Busy): fault.Kind.Awaited —
// is logged at Info, not Error. The SDK logs every failed attempt at Error; a worker's
// log full of errors that are waits hides the real failures, which stay at Error.
func awaitedAtInfo(h slog.Handler) slog.Handler { return awaitedHandler{h} }

type awaitedHandler struct{ slog.Handler }

func (h awaitedHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= slog.LevelError && strings.HasPrefix(r.Message, "Activity error") && awaitedError(r) {
		if !h.Handler.Enabled(ctx, slog.LevelInfo) {
			return nil
		}
		info := slog.NewRecord(r.Time, slog.LevelInfo, r.Message, r.PC)
		r.Attrs(func(a slog.Attr) bool { info.AddAttrs(a); return true })
		r = info
	}
	return h.Handler.Handle(ctx, r)
}

func (h awaitedHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return awaitedHandler{h.Handler.WithAttrs(attrs)}
}

func (h awaitedHandler) WithGroup(name string) slog.Handler {
	return awaitedHandler{h.Handler.WithGroup(name)}
}

// awaitedError reports whether the record's error is an application error of an
// Awaited fault kind.
func awaitedError(r slog.Record) bool {
	awaited := false
	r.Attrs(func(a slog.Attr) bool {
		err, ok := a.Value.Resolve().Any().(error)
		if !ok {
			return true
		}
		var appErr *temporal.ApplicationError
		if errors.As(err, &appErr) && fault.Kind(appErr.Type()).Awaited() {
			awaited = true
			return false
		}
		return true
	})
	return awaited
}
