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
	// A refusal of a request that named no ICS is kept, and listed under no ICS.
	none := freetext.AuditEvent{UserID: "ann@example.nhs.uk", At: at, Wave: "W1", Action: freetext.ActionView, Reason: "no ICS named"}
	if err := fs.RecordFreeText(ctx, none); err != nil {
		t.Fatalf("a refusal naming no ICS: %v", err)
	}
	if reads, err := fs.FreeTextReads(ctx, "W1", ""); err != nil || len(reads) != 1 || reads[0].UserID != none.UserID || reads[0].ICS != "" {
		t.Errorf("reads naming no ICS: %+v %v", reads, err)
	}
	if reads, _ := fs.FreeTextReads(ctx, "W1", "QMM"); len(reads) != 1 {
		t.Errorf("QMM's reads after a refusal naming no ICS: %+v", reads)
	}
	// An invalid event is refused, not written.
	if err := fs.RecordFreeText(ctx, freetext.AuditEvent{UserID: "x", ICS: "QMM", Action: freetext.ActionView}); err == nil {
		t.Error("an event without a time was recorded")
	}
}
