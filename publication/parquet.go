package publication

import (
	"encoding/json"
	"strings"

	"icesurvey/schemas"
)

// slots hold a row's nullable values while the lake writer copies them: the rows are
// written one at a time, so one set of slots serves every row, and no value is
// allocated on its own.
type slots struct {
	f [8]float64
	n [8]int64
	i int
	j int
}

func (s *slots) reset() { s.i, s.j = 0, 0 }

func (s *slots) fig(f Figure) *float64 {
	if !f.ok {
		return nil
	}
	p := &s.f[s.i]
	*p = f.v
	s.i++
	return p
}

func (s *slots) count(c Count) *int64 {
	if !c.ok {
		return nil
	}
	p := &s.n[s.j]
	*p = c.n
	s.j++
	return p
}

// resultsParquet is results.parquet: every result row, unrounded.
func resultsParquet(r *Results, releaseID string) ([]byte, error) {
	var v slots
	return encodeParquet(schemas.PublishedResultLayout(), len(r.results), func(i int, row *schemas.PublishedResult) {
		x := &r.results[i]
		v.reset()
		*row = schemas.PublishedResult{ReleaseID: releaseID, WaveID: r.wave, GeographyLevel: x.Geography, ICS: x.ICS,
			GroupVariable: x.GroupVariable, GroupLevel: x.GroupLevel, RespondentType: x.RespondentType, QuestionID: x.QuestionID,
			PositiveCodes: strings.Join(x.PositiveCodes, ";"), ExcludedCodes: strings.Join(x.ExcludedCodes, ";"),
			BaseUnweighted: v.count(x.BaseUnweighted), BaseWeighted: v.fig(x.BaseWeighted), PctPositive: v.fig(x.PctPositive),
			CILower: v.fig(x.CILower), CIUpper: v.fig(x.CIUpper), NEff: v.fig(x.NEff), Deff: v.fig(x.Deff),
			VsEngland: string(x.VsEngland), Status: x.Status.String(), WeightingStatus: x.WeightingStatus}
	})
}

// distributionsParquet is distributions.parquet.
func distributionsParquet(r *Results, releaseID string) ([]byte, error) {
	var v slots
	return encodeParquet(schemas.PublishedDistributionLayout(), len(r.dists), func(i int, row *schemas.PublishedDistribution) {
		x := &r.dists[i]
		v.reset()
		*row = schemas.PublishedDistribution{ReleaseID: releaseID, WaveID: r.wave, GeographyLevel: x.Geography, ICS: x.ICS,
			GroupVariable: x.GroupVariable, GroupLevel: x.GroupLevel, RespondentType: x.RespondentType, QuestionID: x.QuestionID,
			OptionCode: x.OptionCode, CountUnweighted: v.count(x.CountUnweighted), PctWeighted: v.fig(x.PctWeighted),
			Status: x.Status.String(), WeightingStatus: x.WeightingStatus}
	})
}

// ratesParquet is response_rates.parquet.
func ratesParquet(r *Results, releaseID string) ([]byte, error) {
	var v slots
	return encodeParquet(schemas.PublishedResponseRateLayout(), len(r.rates), func(i int, row *schemas.PublishedResponseRate) {
		x := &r.rates[i]
		v.reset()
		*row = schemas.PublishedResponseRate{ReleaseID: releaseID, WaveID: r.wave, GeographyLevel: x.Geography, ICS: x.ICS,
			Sampled:   v.count(x.Sampled),
			Completed: v.count(x.Groups[0]), CompletedStatus: x.GroupStatus[0].String(),
			NotReached: v.count(x.Groups[1]), NotReachedStatus: x.GroupStatus[1].String(),
			NotResponded: v.count(x.Groups[2]), NotRespondedStatus: x.GroupStatus[2].String(),
			ResponseRate: v.fig(x.ResponseRate), AdjustedResponseRate: v.fig(x.AdjustedResponseRate), Status: x.Status.String()}
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
	if meta.Parameters != nil {
		b, err := json.Marshal(meta.Parameters)
		if err != nil {
			return nil, err
		}
		params := string(b)
		rec.Parameters = &params
	}
	return encodeParquet(schemas.PublishedReleaseLayout(), 1, func(_ int, row *schemas.PublishedRelease) { *row = rec })
}
