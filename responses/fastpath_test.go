package responses

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"icesurvey/questionnaire"
)

// The per-row fast paths below are compared with the code they replaced, kept here as
// the reference: the lake objects must not change by a byte.

func refResponseID(sha string, row int) string {
	h := sha256.Sum256([]byte(fmt.Sprintf("%s:%d", sha, row)))
	return "R" + hex.EncodeToString(h[:12])
}

func refEventID(sha string, row int) string {
	h := sha256.Sum256([]byte(fmt.Sprintf("outcome:%s:%d", sha, row)))
	return "E" + hex.EncodeToString(h[:12])
}

func TestRowIDsMatchReference(t *testing.T) {
	long := strings.Repeat("f", 200) // longer than rowID's stack buffer
	for _, sha := range []string{"", "2e0dc4473570e6e2f423296612857ffef297202d61c07da410feb5a1c2b72b92", long} {
		for _, row := range []int{0, 1, 9, 10, 4096, 50000, 1 << 40, -3} {
			if got, want := responseID(sha, row), refResponseID(sha, row); got != want {
				t.Errorf("responseID(%.8q, %d) = %s, want %s", sha, row, got, want)
			}
			if got, want := eventID(sha, row), refEventID(sha, row); got != want {
				t.Errorf("eventID(%.8q, %d) = %s, want %s", sha, row, got, want)
			}
		}
	}
}

func TestCleanFreeTextMatchesReference(t *testing.T) {
	texts := []string{
		"", "   ", "plain words", "  padded \t\n", "line one\nline two", "tab\there",
		"crlf\r\nline", "bell\a and del\x7f", "nul\x00byte", "café – accents", "bad utf8 \xff\xfe end",
		"replacement \uFFFD char", "\u0085next line", "\u00a0nbsp\u00a0", "vertical\vtab form\ffeed",
		strings.Repeat("x", 40), strings.Repeat("é", 40), "  " + strings.Repeat("ab ", 20) + "  ",
	}
	for _, s := range texts {
		for _, max := range []int{0, 1, 5, 10, 39, 40, 41, 1000} {
			if got, want := cleanFreeText(s, max), cleanFreeTextPlain(s, max); got != want {
				t.Errorf("cleanFreeText(%q, %d) = %q, want %q", s, max, got, want)
			}
		}
	}
}

// refClosedAnswer is the answer check of validateResponse before closedAnswer.
func refClosedAnswer(q *questionnaire.Question, col, raw string) (cell, msg string) {
	codes := q.SplitAnswer(raw)
	if q.Kind == questionnaire.Single && strings.Contains(raw, questionnaire.MultiSeparator) {
		return "", fmt.Sprintf("more than one code for single-choice question %s", col)
	}
	cell, ok := canonicalAnswer(q, codes)
	if !ok {
		for _, code := range codes {
			if !q.HasOption(code) {
				return "", fmt.Sprintf("%s is not an option of %s", safeCode(code), col)
			}
		}
		return "", ""
	}
	return cell, ""
}

func TestClosedAnswerMatchesReference(t *testing.T) {
	qs, err := questionnaire.ResolveSet([]string{"patient-2026.1", "carer-2026.1"}, []string{"LQ_LONELINESS"})
	if err != nil {
		t.Fatal(err)
	}
	raws := []string{"1", " 1 ", "2", "0", "99", "x", "1;", ";1", "1;2", "2;1", "1; 3", "3;1;3", ";;", " ; ",
		"1;99", "99;1", "1,2", "Y", "N", "a very long comment, not a code", "1\n"}
	seen := 0
	for _, qn := range qs {
		for i := range qn.Questions {
			q := &qn.Questions[i]
			if !q.Closed() {
				continue
			}
			seen++
			cands := append([]string{}, raws...)
			for _, o := range q.Options {
				cands = append(cands, o.Code, " "+o.Code+" ", o.Code+";"+o.Code)
			}
			for _, raw := range cands {
				if strings.TrimSpace(raw) == "" {
					continue // validateResponse skips a blank cell before judging it
				}
				gc, gm := closedAnswer(q, q.ID, raw)
				wc, wm := refClosedAnswer(q, q.ID, raw)
				if gc != wc || gm != wm {
					t.Errorf("%s %s %q: got (%q, %q), want (%q, %q)", q.ID, q.Kind, raw, gc, gm, wc, wm)
				}
			}
		}
	}
	if seen == 0 {
		t.Fatal("no closed questions")
	}
}

// TestArrivalOrderMatchesReference compares dedupe's sort with the sort.SliceStable of
// the less function it replaced, on groups with ties in time, file and row and times
// in other zones (Compare, like Equal and Before, compares instants).
func TestArrivalOrderMatchesReference(t *testing.T) {
	base := time.Date(2026, 2, 10, 9, 0, 0, 0, time.UTC)
	times := []time.Time{base, base.Add(time.Second), base.In(time.FixedZone("X", 3600)), base.Add(-time.Hour), {}}
	rng := rand.New(rand.NewPCG(1, 2))
	for n := 1; n <= 200; n++ {
		cs := make([]*candidate, 1+rng.IntN(8))
		for i := range cs {
			cs[i] = &candidate{id: fmt.Sprint(i), receivedAt: times[rng.IntN(len(times))], file: rng.IntN(3), row: rng.IntN(4)}
		}
		want := slices.Clone(cs)
		sort.SliceStable(want, func(i, j int) bool {
			a, b := want[i], want[j]
			if !a.receivedAt.Equal(b.receivedAt) {
				return a.receivedAt.Before(b.receivedAt)
			}
			if a.file != b.file {
				return a.file < b.file
			}
			return a.row < b.row
		})
		got := slices.Clone(cs)
		slices.SortStableFunc(got, arrivalOrder)
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("case %d: order differs at %d: got %s, want %s", n, i, got[i].id, want[i].id)
			}
		}
	}
}
