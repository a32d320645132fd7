package schemas

import (
	"time"
)

// The dashboard's keys (issue #16).

// FreeTextReadsPrefix holds the audit record of every free-text read of one ICS by the
// dashboard (view, search, download, refusal): restricted, kept beside the free text
// (FreeTextRoot is not deleted with the mailing data), readable only by those who
// audit the readers.
// A refusal of a request that named no ICS (someone who may read none asked for "their"
// free text) is kept under FreeTextNoICS in place of an ICS code, which is never
// lower case, so that it is listed with the wave's other reads.
func FreeTextReadsPrefix(wave, ics string) string {
	if ics == "" {
		ics = FreeTextNoICS
	}
	return FreeTextRoot(wave, ics) + "reads/"
}

// FreeTextNoICS stands for "no ICS" in the key of a refusal that named none.
const FreeTextNoICS = "no-ics"

// FreeTextReadKey is one read's audit record (JSON), named by its time and an id so
// that records sort by time and never overwrite one another.
func FreeTextReadKey(wave, ics string, at time.Time, id string) string {
	return FreeTextReadsPrefix(wave, ics) + at.UTC().Format("20060102T150405.000000000Z") + "-" + id + ".json"
}
