package intake

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"icesurvey/lake"
	"icesurvey/schemas"
	"icesurvey/store"
)

// TestContactSinkParallelEncoding writes more than two row groups of contacts through
// sinks that encode a row group's columns on 1, 2 and 5 goroutines: each file reads
// back (through the lake's reader) as exactly the rows written, in order, and the
// files of the side-by-side encoders are byte-identical, whatever the scheduling.
func TestContactSinkParallelEncoding(t *testing.T) {
	n := 2*lake.DefaultRowGroup + 1234
	want := make([]schemas.Contact, n)
	for i := range want {
		want[i] = schemas.Contact{
			SurveyRecordID: fmt.Sprintf("S%015d", i*7919%1000003),
			ICSRecordID:    fmt.Sprintf("REC-%d", i),
			ICS:            "QMM",
			NHSNumber:      fmt.Sprintf("%010d", 4000000000+i*37),
			DateOfBirth:    time.Date(1930+i%70, time.Month(1+i%12), 1+i%28, 0, 0, 0, 0, time.UTC),
			Gender:         []string{"1", "2", "9"}[i%3],
			Title:          []string{"", "Mr", "Mrs", "Ms", "Dr"}[i%5],
			FirstName:      fmt.Sprintf("Name%d", i%977),
			LastName:       fmt.Sprintf("Surname%d", i%1999),
			Address1:       fmt.Sprintf("%d High Street", i%300),
			Address2:       []string{"", "Flat 2", "Rose Cottage"}[i%3],
			Address3:       "Leeds",
			Address4:       []string{"", "West Yorkshire"}[i%2],
			Address5:       "",
			Postcode:       fmt.Sprintf("LS%d %dAB", 1+i%29, i%10),
			Mobile:         []string{"", fmt.Sprintf("+4477009%05d", i%100000)}[i%2],
			AccessCode:     fmt.Sprintf("%04d-%04d", i%10000, (i*31)%10000),
		}
	}
	files := map[int][]byte{}
	for _, encoders := range []int{1, 2, 5} {
		st, err := store.NewFileStore(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		r := &run{ctx: context.Background(), st: st}
		s, err := newContactSink(r.tempFile)
		if err != nil {
			t.Fatal(err)
		}
		s.encoders = encoders
		for i := range want {
			addContact(s.cur, &want[i])
			s.endRow()
		}
		if _, _, err := s.finish(); err != nil {
			t.Fatalf("%d encoders: %v", encoders, err)
		}
		if err := r.putFile("contacts.parquet", s.file, &s.stored); err != nil {
			t.Fatal(err)
		}
		s.discard()
		got, err := lake.GetRows[schemas.Contact](context.Background(), st, "contacts.parquet", schemas.ContactLayout())
		if err != nil {
			t.Fatalf("%d encoders: read back: %v", encoders, err)
		}
		if len(got) != n {
			t.Fatalf("%d encoders: %d rows read back, want %d", encoders, len(got), n)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("%d encoders: row %d = %+v, want %+v", encoders, i, got[i], want[i])
			}
		}
		rc, err := st.Get(context.Background(), "contacts.parquet")
		if err != nil {
			t.Fatal(err)
		}
		files[encoders], err = io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if left, _ := os.ReadDir(st.Root()); len(left) != 1 {
			t.Fatalf("%d encoders: store root holds %d entries, want only contacts.parquet", encoders, len(left))
		}
	}
	if !bytes.Equal(files[2], files[5]) {
		t.Fatal("2 and 5 encoders wrote different files")
	}
}

// addContact appends c to a contact row group, as the contacts pass does.
func addContact(g *contactGroup, c *schemas.Contact) {
	g.surveyID.addString(c.SurveyRecordID)
	g.icsRecordID.addString(c.ICSRecordID)
	g.ics.add([]byte(c.ICS))
	g.nhs.addString(c.NHSNumber)
	g.dob = append(g.dob, int32(arrow.Date32FromTime(c.DateOfBirth)))
	g.gender.add([]byte(c.Gender))
	g.title.addString(c.Title)
	g.first.addString(c.FirstName)
	g.last.addString(c.LastName)
	for i, a := range []string{c.Address1, c.Address2, c.Address3, c.Address4, c.Address5} {
		g.addr[i].addString(a)
	}
	g.postcode.addString(c.Postcode)
	g.mobile.addString(c.Mobile)
	g.accessCode.addString(c.AccessCode)
}
