package dashdata

import (
	"context"
	"testing"
	"time"

	"icesurvey/freetext"
	"icesurvey/lake"
	"icesurvey/schemas"
	"icesurvey/store"
)

func TestFreeTextStoreReadsCommentsAndKeepsReads(t *testing.T) {
	ctx := context.Background()
	st, err := store.NewFileStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	day := time.Date(2026, 11, 3, 0, 0, 0, 0, time.UTC)
	rows := []schemas.FreeTextRow{
		{ResponseID: "a1", Wave: "W1", ICS: "QMM", LoadDate: day, RespondentType: "patient", QuestionID: "P_FT_GOOD", Text: "Lovely nurses."},
		{ResponseID: "a2", Wave: "W1", ICS: "QMM", LoadDate: day, RespondentType: "patient", QuestionID: "P_FT_IMPROVE", Text: "Ring me on 07700 900123."},
	}
	if err := lake.PutRows(ctx, st, schemas.FreeTextKey("W1", "QMM", day, "abc"), schemas.FreeTextLayout(), rows); err != nil {
		t.Fatal(err)
	}
	fs := FreeTextStore{Store: st}
	at := time.Date(2026, 11, 16, 9, 0, 0, 0, time.UTC)
	ev := freetext.AuditEvent{UserID: "fay@example.nhs.uk", At: at, ICS: "QMM", Wave: "W1", Action: freetext.ActionSearch, Query: "nurses",
		RowsShown: 1, ResponseIDs: []string{"a1"}, Allowed: true, Reason: "grant"}
	if err := fs.RecordFreeText(ctx, ev); err != nil {
		t.Fatal(err)
	}
	// A read's record sits under the free-text root but is not read as comments.
	got, err := fs.Comments(ctx, "W1", "QMM")
	if err != nil || len(got) != 2 || got[1].Text != rows[1].Text {
		t.Fatalf("comments: %+v %v", got, err)
	}
	if other, _ := fs.Comments(ctx, "W1", "QJK"); len(other) != 0 {
		t.Errorf("another ICS's comments: %+v", other)
	}
	reads, err := fs.FreeTextReads(ctx, "W1", "QMM")
	if err != nil || len(reads) != 1 || reads[0].Query != "nurses" || !reads[0].At.Equal(at) {
		t.Errorf("reads: %+v %v", reads, err)
	}
	// An invalid event is refused, not written.
	if err := fs.RecordFreeText(ctx, freetext.AuditEvent{UserID: "x", ICS: "QMM", Action: freetext.ActionView}); err == nil {
		t.Error("an event without a time was recorded")
	}
}
