package synth

import (
	"encoding/csv"
	"io"
	"slices"
	"time"
)

// WriteDeaths writes deaths (Stats.DeceasedNHS) as CSV with the header
// NHS_NUMBER,DATE_OF_DEATH (yyyymmdd), sorted by NHS number: a fixture for the DBS
// simulator. Test data only.
func WriteDeaths(w io.Writer, deaths map[string]time.Time) error {
	nhs := make([]string, 0, len(deaths))
	for n := range deaths {
		nhs = append(nhs, n)
	}
	slices.Sort(nhs)
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"NHS_NUMBER", "DATE_OF_DEATH"}); err != nil {
		return err
	}
	for _, n := range nhs {
		if err := cw.Write([]string{n, ymd(deaths[n])}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
