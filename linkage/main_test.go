package linkage_test

import (
	"log/slog"
	"os"
	"testing"

	"icesurvey/internal/idscan"
)

// logs holds everything the package logged during the tests, so the privacy test can
// scan it for identifiers.
var logs idscan.SyncBuffer

func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	os.Exit(m.Run())
}
