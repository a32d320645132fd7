package lake

import (
	"fmt"
	"io"
	"testing"
	"time"

	"icesurvey/schemas"
)

// BenchmarkWriteResponses writes 50,000 rows of the responses layout (11 fixed columns
// and one per question, most of them answered) to a Parquet stream.
func BenchmarkWriteResponses(b *testing.B) {
	l := schemas.ResponseRowLayout()
	extras := l.Extras()
	rows := make([]schemas.ResponseRow, 50000)
	at := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	for i := range rows {
		ans := make([]string, extras)
		for j := 0; j < 24 && j < extras; j++ {
			if l.Columns[len(l.Columns)-extras+j].Type == schemas.Int32 {
				ans[j] = fmt.Sprint(1 + (i+j)%4)
			} else {
				ans[j] = "1;4"
			}
		}
		rows[i] = schemas.ResponseRow{ResponseID: fmt.Sprintf("R%024d", i), Wave: "W1", ICS: "QMM", LoadDate: at,
			SurveyRecordID: fmt.Sprintf("S%016d", i), RespondentType: "patient", QuestionnaireVersion: "patient-2026.1",
			Channel: "online", ReceivedAt: at.Add(time.Duration(i) * time.Second), Complete: i%5 != 0,
			SourceSHA256: "5f0e0c6b0d3a4c1e9a7b2f8d6c4e1a3b5f0e0c6b0d3a4c1e9a7b2f8d6c4e1a3b", Answers: ans}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		w, err := NewWriter[schemas.ResponseRow](io.Discard, l)
		if err != nil {
			b.Fatal(err)
		}
		for i := range rows {
			if err := w.Write(&rows[i]); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(rows)*b.N)/b.Elapsed().Seconds(), "rows/s")
}
