package schemas

import (
	"time"
)

// The dashboard's keys (issue #16).

// FreeTextReadsPrefix holds the audit record of every free-text read of one ICS by the
// dashboard (view, search, download, refusal): restricted, kept beside the free text
// (FreeTextRoot is not deleted with the mailing data), readable only by those who
// audit the readers.
func FreeTextReadsPrefix(wave, ics string) string { return FreeTextRoot(wave, ics) + "reads/" }

// FreeTextReadKey is one read's audit record (JSON), named by its time and an id so
// that records sort by time and never overwrite one another.
func FreeTextReadKey(wave, ics string, at time.Time, id string) string {
	return FreeTextReadsPrefix(wave, ics) + at.UTC().Format("20060102T150405.000000000Z") + "-" + id + ".json"
}
