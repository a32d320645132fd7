package intake

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
)

// TestPartitionedJoinMatchesSingle runs a file pair full of cross-file problems
// (duplicate RECORD_IDs and NHS numbers in groups large and small, missing, orphan
// and repeated mailing rows, malformed rows, bad ids) once with a single partition
// and once spread over many, and requires identical results and byte-identical
// outputs: the partitioning must never show.
func TestPartitionedJoinMatchesSingle(t *testing.T) {
	s, m := goodRows(400)
	for i := range s {
		switch {
		case i%37 == 5:
			s[i]["RECORD_ID"] = s[i-3]["RECORD_ID"] // repeated sample id
		case i%41 == 7:
			s[i]["NHS_NUMBER"] = s[2]["NHS_NUMBER"] // one large NHS group
		case i%43 == 9:
			s[i]["NHS_NUMBER"] = s[i-1]["NHS_NUMBER"] // pairs
		case i%47 == 11:
			s[i]["RECORD_ID"] = ""
		case i%53 == 13:
			s[i]["ETHNICITY"] = "A,B" // quoted: fine; but see malformed below
		case i%59 == 17:
			s[i]["EFI_SCORE"] = "0.05" // excluded
		case i%61 == 19:
			s[i]["POSTCODE"] = "ZZ99 3VZ"
		}
	}
	var mail []row
	for i, r := range m {
		switch {
		case i%31 == 3:
			continue // no mailing record
		case i%29 == 4:
			mail = append(mail, r, r) // repeated mailing row
		case i%67 == 21:
			r["LAST_NAME"] = ""
			mail = append(mail, r)
		default:
			mail = append(mail, r)
		}
	}
	for i := 0; i < 5; i++ {
		mail = append(mail, goodMailing(1000+i)) // orphans
	}
	sampleText := csvText(sampleHeader, s) + "R09999,1,2\n" // a malformed row
	mailingText := csvText(mailingHeader, mail)

	run := func(pb int64) (*Result, map[string]string) {
		old := partitionBytes
		partitionBytes = pb
		defer func() { partitionBytes = old }()
		st := newStore(t)
		put(t, st, sampleKey, sampleText)
		put(t, st, mailingKey, mailingText)
		res, err := Run(context.Background(), st, testConfig(), Input{SampleKey: sampleKey, MailingKey: mailingKey})
		if err != nil {
			t.Fatal(err)
		}
		return res, map[string]string{"sample": res.SampleParquetSHA256, "contacts": res.ContactsSHA256, "report": res.ReportSHA256}
	}
	single, singleSums := run(1 << 40)
	for _, pb := range []int64{4096, 512} {
		t.Run(fmt.Sprint(pb), func(t *testing.T) {
			many, sums := run(pb)
			if !reflect.DeepEqual(single, many) {
				t.Errorf("results differ:\n single %+v\n many   %+v", single, many)
			}
			if !reflect.DeepEqual(singleSums, sums) {
				t.Errorf("outputs differ: %v vs %v", singleSums, sums)
			}
		})
	}
	if single.ByReason[ReasonNHSNumberDuplicate] == 0 || single.ByReason[ReasonRecordIDDuplicate] == 0 ||
		single.MailingByReason[ReasonRecordIDDuplicate] == 0 || single.MailingByReason[ReasonNoSampleRecord] == 0 ||
		single.ByReason[ReasonNoMailingRecord] == 0 || single.ByReason[ReasonRowMalformed] == 0 {
		t.Errorf("the pair should exercise every cross-file check: %v %v", single.ByReason, single.MailingByReason)
	}
}

// TestSpillReaderRecords appends random bytes to partitions in chunks of random
// sizes (so records straddle chunks, and buffer refills) and reads them back as
// fixed-size records, peeked rows and a truncated last record.
func TestSpillReaderRecords(t *testing.T) {
	sp, err := newSpillSet(9 * partitionBytes) // ten partitions
	if err != nil {
		t.Fatal(err)
	}
	defer sp.remove()
	rng := rand.New(rand.NewPCG(27, 28))
	const recLen = 28
	want := make([][]byte, sp.n)
	sf := sp.file("j")
	for p := range want {
		n := []int{0, 1, 3, 600, 5000}[p%5]*recLen + []int{0, 0, 0, 0, 7}[p%5]
		want[p] = make([]byte, n)
		for i := range want[p] {
			want[p][i] = byte(rng.IntN(256))
		}
		for b := want[p]; len(b) > 0; {
			k := min(len(b), 1+rng.IntN(3*spillBuffer))
			if err := sf.append(p, b[:k]); err != nil {
				t.Fatal(err)
			}
			b = b[k:]
		}
	}
	sr, err := sp.open("j")
	if err != nil {
		t.Fatal(err)
	}
	for p, data := range want {
		var rec [recLen]byte
		for i := 0; ; i++ {
			if len(data) >= 4 {
				if row, err := sr.peekRow(p); err != nil || row != int32(le.Uint32(data)) {
					t.Fatalf("partition %d record %d: peekRow %d, %v", p, i, row, err)
				}
				sr.heads[p] = 0
			}
			ok, err := sr.next(p, rec[:])
			switch {
			case len(data) == 0:
				if ok || err != nil {
					t.Fatalf("partition %d: past the end: %v %v", p, ok, err)
				}
			case len(data) < recLen:
				if ok || err == nil {
					t.Fatalf("partition %d: truncated record read: %v %v", p, ok, err)
				}
			case !ok || err != nil || !bytes.Equal(rec[:], data[:recLen]):
				t.Fatalf("partition %d record %d: %v %v", p, i, ok, err)
			}
			if len(data) < recLen {
				break
			}
			data = data[recLen:]
		}
	}
}
