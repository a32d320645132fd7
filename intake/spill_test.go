package intake

import (
	"context"
	"fmt"
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
