package intake

import "icesurvey/codes"

// declare fills the Result's Declaration from the tally of the accepted sample.
func (r *run) declare() {
	res, t := r.res, &r.tally
	d := Declaration{
		WaveID: r.cfg.WaveID, ICS: r.cfg.ICS, ICSName: r.icsName,
		SamplingDate:  r.sampling.Format("2006-01-02"),
		SampleSHA256:  res.SampleSHA256,
		MailingSHA256: res.MailingSHA256,
		RowsRead:      res.RowsRead, Eligible: res.Accepted, Excluded: res.Excluded, Rejected: res.Rejected,
		MinEligible: r.cfg.MinEligible, Shortfall: res.Shortfall, MeetsTarget: res.Shortfall == 0,
		Practices:        len(t.practices),
		ByAgeBand:        map[string]int{},
		ByGender:         map[string]int{},
		ByEFIBand:        map[string]int{},
		ByEthnicity:      map[string]int{},
		ExcludedByReason: map[string]int{},
		RejectedByReason: map[string]int{},
		WithMobile:       t.mobile,
	}
	first := true
	for code, n := range t.practices {
		pc := PracticeCount{Code: code, Records: *n}
		// Ties go to the lower practice code, so the figures do not depend on map order.
		s, l := d.SmallestPractice, d.LargestPractice
		if first || pc.Records < s.Records || pc.Records == s.Records && pc.Code < s.Code {
			d.SmallestPractice = pc
		}
		if first || pc.Records > l.Records || pc.Records == l.Records && pc.Code < l.Code {
			d.LargestPractice = pc
		}
		first = false
	}
	for i, b := range codes.AgeBands {
		d.ByAgeBand[b] = t.ageBand[i]
	}
	for i, g := range genderCodes {
		d.ByGender[g] = t.gender[i]
	}
	for i, b := range codes.EFIBands {
		d.ByEFIBand[b] = t.efiBand[i]
	}
	for i, e := range codes.EthnicCategories {
		d.ByEthnicity[e.Code] = t.ethnicity[i]
	}
	for reason, n := range res.ByReason {
		if isExclusion(reason) {
			d.ExcludedByReason[reason] = n
		} else {
			d.RejectedByReason[reason] = n
		}
	}
	res.Declaration = d
}

func isExclusion(reason string) bool {
	switch reason {
	case ExclFrailty, ExclUnder18, ExclRegisteredUnder6M, ExclType1OptOut, ExclDissent, ExclNoUKAddress:
		return true
	}
	return false
}
