package dashdata

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"icesurvey/lake"
	"icesurvey/schemas"
	"icesurvey/store"
	"icesurvey/themes"
)

// TestCodingQueueReadsTheRestrictedQueue: the coder's queue comes back in queue
// order with the machine's suggestions (the scores that clear their thresholds), none
// for the evaluation slice (coded blind), and a bad scores field is an error naming
// the object, row and field.
func TestCodingQueueReadsTheRestrictedQueue(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, "file://"+t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	scores := func(s ...themes.ThemeScore) string { b, _ := json.Marshal(s); return string(b) }
	rows := []schemas.RedactedComment{
		{ResponseID: "r1", QuestionID: "Q", Text: "b", QueuePosition: 2, Scores: scores(themes.ThemeScore{Theme: "burden", Probability: 0.2, Threshold: 0.5, Polarity: themes.Negative})},
		{ResponseID: "r3", QuestionID: "Q", Text: "c", QueuePosition: 3, Evaluation: true,
			Scores: scores(themes.ThemeScore{Theme: "burden", Probability: 0.9, Threshold: 0.5, Polarity: themes.Negative})},
		{ResponseID: "r2", QuestionID: "Q", Text: "a [NAME]", QueuePosition: 1,
			Scores: scores(themes.ThemeScore{Theme: "continuity", Probability: 0.9, Threshold: 0.5, Polarity: themes.Positive},
				themes.ThemeScore{Theme: "burden", Probability: 0.6, Threshold: 0.5, Polarity: themes.Negative})},
	}
	if err := lake.PutRows(ctx, st, schemas.RedactedCommentsKey("W1", "QAA"), schemas.RedactedCommentLayout(), rows); err != nil {
		t.Fatal(err)
	}
	got, err := FreeTextStore{Store: st}.CodingQueue(ctx, "W1", "QAA", "fay")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].ResponseID != "r2" || got[0].Blind || fmt.Sprint(got[0].Suggestions) != "[{continuity positive} {burden negative}]" ||
		got[1].ResponseID != "r1" || len(got[1].Suggestions) != 0 || got[2].ResponseID != "r3" || !got[2].Blind || len(got[2].Suggestions) != 0 {
		t.Errorf("queue %+v", got)
	}
	rows[0].Scores = "not json"
	if err := lake.PutRows(ctx, st, schemas.RedactedCommentsKey("W1", "QAA"), schemas.RedactedCommentLayout(), rows); err != nil {
		t.Fatal(err)
	}
	if _, err := (FreeTextStore{Store: st}).CodingQueue(ctx, "W1", "QAA", "fay"); err == nil {
		t.Error("a bad scores field is accepted")
	}
}
