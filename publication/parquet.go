package publication

import (
	"strings"

	"icesurvey/schemas"
)

func (f Figure) ptr() *float64 {
	if !f.ok {
		return nil
	}
	v := f.v
	return &v
}

func (c Count) ptr() *int64 {
	if !c.ok {
		return nil
	}
	n := c.n
	return &n
}

// resultsParquet is results.parquet: every result row, unrounded.
func resultsParquet(r *Results, releaseID string) ([]byte, error) {
	return encodeParquet(schemas.PublishedResultLayout(), len(r.results), func(i int, row *schemas.PublishedResult) {
		x := &r.results[i]
		*row = schemas.PublishedResult{ReleaseID: releaseID, WaveID: r.wave, GeographyLevel: x.Geography, ICS: x.ICS,
			GroupVariable: x.GroupVariable, GroupLevel: x.GroupLevel, RespondentType: x.RespondentType, QuestionID: x.QuestionID,
			PositiveCodes: strings.Join(x.PositiveCodes, ";"), ExcludedCodes: strings.Join(x.ExcludedCodes, ";"),
			BaseUnweighted: x.BaseUnweighted.ptr(), BaseWeighted: x.BaseWeighted.ptr(), PctPositive: x.PctPositive.ptr(),
			CILower: x.CILower.ptr(), CIUpper: x.CIUpper.ptr(), NEff: x.NEff.ptr(), Deff: x.Deff.ptr(),
			VsEngland: string(x.VsEngland), Status: x.Status.String(), WeightingStatus: x.WeightingStatus}
	})
}

// distributionsParquet is distributions.parquet.
func distributionsParquet(r *Results, releaseID string) ([]byte, error) {
	return encodeParquet(schemas.PublishedDistributionLayout(), len(r.dists), func(i int, row *schemas.PublishedDistribution) {
		x := &r.dists[i]
		*row = schemas.PublishedDistribution{ReleaseID: releaseID, WaveID: r.wave, GeographyLevel: x.Geography, ICS: x.ICS,
			GroupVariable: x.GroupVariable, GroupLevel: x.GroupLevel, RespondentType: x.RespondentType, QuestionID: x.QuestionID,
			OptionCode: x.OptionCode, CountUnweighted: x.CountUnweighted.ptr(), PctWeighted: x.PctWeighted.ptr(),
			Status: x.Status.String(), WeightingStatus: x.WeightingStatus}
	})
}

// ratesParquet is response_rates.parquet.
func ratesParquet(r *Results, releaseID string) ([]byte, error) {
	return encodeParquet(schemas.PublishedResponseRateLayout(), len(r.rates), func(i int, row *schemas.PublishedResponseRate) {
		x := &r.rates[i]
		*row = schemas.PublishedResponseRate{ReleaseID: releaseID, WaveID: r.wave, GeographyLevel: x.Geography, ICS: x.ICS,
			Sampled:   x.Sampled.ptr(),
			Completed: x.Groups[0].ptr(), CompletedStatus: x.GroupStatus[0].String(),
			NotReached: x.Groups[1].ptr(), NotReachedStatus: x.GroupStatus[1].String(),
			NotResponded: x.Groups[2].ptr(), NotRespondedStatus: x.GroupStatus[2].String(),
			ResponseRate: x.ResponseRate.ptr(), AdjustedResponseRate: x.AdjustedResponseRate.ptr(), Status: x.Status.String()}
	})
}

// releaseParquet is release.parquet: the release's one-row record.
func releaseParquet(meta *Metadata, metadataSHA256 string) ([]byte, error) {
	s := meta.Summary()
	var published, not []string
	published = append(published, s.ICSsPublished...)
	for _, x := range s.ICSsNotPublished {
		not = append(not, x.ICS)
	}
	rows := 0
	dists := 0
	for _, t := range meta.Tables {
		switch t.Table {
		case "results":
			rows = t.Rows
		case "distributions":
			dists = t.Rows
		}
	}
	rec := schemas.PublishedRelease{ReleaseID: meta.ReleaseID, WaveID: meta.WaveID, Status: meta.Status, ApprovedBy: meta.ApprovedBy,
		ApprovedAt: meta.ApprovedAt, LeftOut: strings.Join(meta.LeftOut, ";"), CodeVersion: meta.CodeVersion,
		ICSsPublished: strings.Join(published, ";"), ICSsNotPublished: strings.Join(not, ";"),
		ResultRows: int64(rows), DistributionRows: int64(dists), CellsWithheld: int64(s.CellsWithheld), MetadataSHA256: metadataSHA256}
	return encodeParquet(schemas.PublishedReleaseLayout(), 1, func(_ int, row *schemas.PublishedRelease) { *row = rec })
}
