package synth

import (
	"strconv"
	"strings"
	"time"
)

// Age bands of the frail population: most 65–95, some 18–64.
var ageBands = []struct {
	lo, hi int
	w      float64
}{
	{18, 39, 1.2}, {40, 49, 1.6}, {50, 59, 3.7}, {60, 64, 4.5},
	{65, 69, 11}, {70, 74, 15}, {75, 79, 19}, {80, 84, 20}, {85, 89, 15},
	{90, 94, 7.5}, {95, 99, 2.2}, {100, 103, 0.3},
}

var ageBandWeights = func() []float64 {
	w := make([]float64, len(ageBands))
	for i, b := range ageBands {
		w[i] = b.w
	}
	return w
}()

// ageAt is the age in whole years on day s of someone born on dob.
func ageAt(dob, s time.Time) int {
	y := s.Year() - dob.Year()
	if s.Month() < dob.Month() || (s.Month() == dob.Month() && s.Day() < dob.Day()) {
		y--
	}
	return y
}

func ymd(t time.Time) string { return t.Format("20060102") }

// person fills r with a valid record of an eligible person, then applies the exclusion excl
// (if any). Every field of r is overwritten.
func (g *generator) person(r *record, seq int, excl string) {
	p := g.prof
	id := strconv.Itoa(seq)
	if pad := g.idWidth - len(id); pad > 0 {
		id = strings.Repeat("0", pad) + id
	}
	r.id = p.idPrefix + id
	r.nhs = g.nextNHS()
	r.ics = p.code
	r.type1, r.dissent = "N", "N"

	// Age and date of birth.
	age := 0
	if excl == ExclusionUnder18 {
		age = 16 + g.rng.IntN(2)
	} else {
		b := ageBands[g.pickWeights(ageBandWeights)]
		age = b.lo + g.rng.IntN(b.hi-b.lo+1)
	}
	r.ageN = age
	r.dobDate = g.birthDate(age)
	r.age = strconv.Itoa(age)
	r.dob = ymd(r.dobDate)

	// Gender (person stated gender). Women outnumber men among the frail old.
	sex := 0 // 1 male, 2 female for naming
	switch x := g.rng.Float64(); {
	case x < 0.43:
		r.gender, sex = "1", 1
	case x < 0.997:
		r.gender, sex = "2", 2
	case x < 0.998:
		r.gender = "9"
	case x < 0.999:
		r.gender = "0"
	default:
		r.gender = "X"
	}

	r.ethnicity = p.ethnicity[g.pickCum(g.ethCum)].code

	// eFI: deficits out of 36; severe frailty becomes commoner with age.
	switch excl {
	case ExclusionFrailty:
		if g.rng.Float64() < 0.35 {
			r.efiK = g.rng.IntN(5) // fit: 0–4/36 ≤ 0.12
		} else {
			r.efiK = 5 + g.rng.IntN(4) // mild: 5–8/36 = 0.14–0.22
		}
	default:
		pSevere := min(0.6, max(0.2, 0.3+0.006*float64(age-65)))
		if g.rng.Float64() < pSevere {
			r.efiK = min(28, 14+int(g.rng.ExpFloat64()*3.5)) // ≥ 0.39
		} else {
			r.efiK = 9 + g.rng.IntN(5) // 0.25–0.36
		}
	}
	r.efi = strconv.FormatFloat(float64(r.efiK)/36, 'f', 2, 64)

	// GP practice. Clean rows never carry V81999 ("practice unknown"): the cohort is
	// registered patients, so intake rejects it for the ICS to correct.
	r.gp = g.practices[g.pickCum(g.practiceCum)].code

	// Registration date. Six months are measured with calendar months; dates keep a week
	// clear of the boundary either side so no reasonable reading of "6 months" disagrees.
	sixMonths := g.sampling.AddDate(0, -6, 0)
	if excl == ExclusionRegistration {
		earliest := sixMonths.AddDate(0, 0, 7)
		span := int(g.sampling.Sub(earliest).Hours()/24) - 1
		r.reg = ymd(g.sampling.AddDate(0, 0, -(1 + g.rng.IntN(span))))
	} else {
		latest := sixMonths.AddDate(0, 0, -7)
		minDays := int(g.sampling.Sub(latest).Hours() / 24)
		maxDays := int(g.sampling.Sub(r.dobDate).Hours()/24) - 1
		days := minDays + int(g.rng.ExpFloat64()*365*14)
		if days > maxDays {
			days = minDays + g.rng.IntN(max(1, maxDays-minDays))
		}
		r.reg = ymd(g.sampling.AddDate(0, 0, -days))
	}

	switch excl {
	case ExclusionType1OptOut:
		r.type1 = "Y"
	case ExclusionDissent:
		r.dissent = "Y"
	}

	// Where they live.
	a := g.pickArea()
	r.postcode = g.postcode(a)
	abroad := false
	if excl == ExclusionNoUKAddress {
		// (The draw for abroad is made only when asked for, so that without it a seed
		// gives the files it always gave.)
		if abroad = g.cfg.AbroadShare > 0 && g.rng.Float64() < g.cfg.AbroadShare; abroad {
			r.postcode = ""
		} else {
			r.postcode = pick(g, []string{"ZZ99 3VZ", "ZZ99 3WZ"}) // the last known address lines stay
		}
	}
	r.mpostcode = r.postcode
	g.address(r, a)
	if abroad {
		g.addressAbroad(r)
	}

	// Who they are.
	g.name(r, sex)
	r.mobile = g.phone()
}

// birthDate draws a date of birth giving age exactly age at the sampling date. 29 February
// is avoided: whether such a person turns a year older on 28 February or 1 March in other
// years is a convention, and the files should not depend on it.
func (g *generator) birthDate(age int) time.Time {
	latest := g.sampling.AddDate(-age, 0, 0)
	for {
		d := latest.AddDate(0, 0, -g.rng.IntN(368)+1)
		if d.Month() == time.February && d.Day() == 29 {
			continue
		}
		if ageAt(d, g.sampling) == age {
			return d
		}
	}
}

func (g *generator) pickArea() *area {
	if len(g.prof.neighbours) > 0 && g.rng.Float64() < 0.02 {
		return &g.prof.neighbours[g.pickCum(g.neighCum)]
	}
	return &g.prof.areas[g.pickCum(g.areaCum)]
}

// inwardLetters are the letters allowed in the inward code (never C, I, K, M, O, V).
const inwardLetters = "ABDEFGHJLNPQRSTUWXYZ"

func (g *generator) inward() string {
	return string([]byte{
		byte('0' + g.rng.IntN(10)),
		inwardLetters[g.rng.IntN(len(inwardLetters))],
		inwardLetters[g.rng.IntN(len(inwardLetters))],
	})
}

func (g *generator) postcode(a *area) string {
	return pick(g, a.outward) + " " + g.inward()
}

func (g *generator) street() string {
	if g.rng.Float64() < 0.08 {
		return pick(g, fixedStreets)
	}
	return pick(g, streetStems) + " " + pick(g, streetSuffixes)
}

func (g *generator) houseNumber() string {
	return strconv.Itoa(1 + min(349, int(g.rng.ExpFloat64()*40)))
}

// address fills ADDRESS_1..5 top down: premises and street, locality, post town, county.
func (g *generator) address(r *record, a *area) {
	lines := r.addr[:0]
	switch x := g.rng.Float64(); {
	case x < 0.08: // care home
		lines = append(lines, pick(g, careHomeNames), g.houseNumber()+" "+g.street())
	case x < 0.18: // flat
		lines = append(lines, "Flat "+strconv.Itoa(1+g.rng.IntN(40))+" "+pick(g, buildingNames), g.street())
	case x < 0.24: // named house
		lines = append(lines, pick(g, houseNames), g.street())
	default:
		lines = append(lines, g.houseNumber()+" "+g.street())
	}
	if len(a.localities) > 0 && g.rng.Float64() < 0.45 {
		lines = append(lines, pick(g, a.localities))
	}
	lines = append(lines, a.town)
	if a.county != "" && g.rng.Float64() < 0.6 {
		lines = append(lines, a.county)
	}
	for i := len(lines); i < len(r.addr); i++ {
		r.addr[i] = ""
	}
}

// placesAbroad are towns and the countries they are in, for addresses abroad.
var placesAbroad = [][2]string{
	{"Málaga", "Spain"}, {"Alicante", "España"}, {"Dublin", "Republic of Ireland"}, {"Cork", "Ireland"},
	{"Lyon", "France"}, {"Faro", "Portugal"}, {"Perth WA 6000", "Australia"}, {"Toronto ON", "Canada"},
	{"Orlando FL 32801", "USA"}, {"Lahore", "Pakistan"}, {"Kingston", "Jamaica"}, {"Paphos", "Cyprus"},
}

// addressAbroad replaces the address after its first line with a town and a country
// outside the UK.
func (g *generator) addressAbroad(r *record) {
	p := placesAbroad[g.rng.IntN(len(placesAbroad))]
	r.addr[1], r.addr[2], r.addr[3], r.addr[4] = p[0], p[1], "", ""
}

func (g *generator) name(r *record, sex int) {
	pool := poolFor(r.ethnicity)
	if sex == 0 {
		sex = 1 + g.rng.IntN(2)
	}
	var first string
	if sex == 1 {
		first = pick(g, pool.male)
	} else {
		first = pick(g, pool.female)
	}
	if g.rng.Float64() < 0.05 {
		first = first[:1] // the mailing file may carry an initial only
	}
	r.first = first

	var last string
	if pool == &poolBritish && g.rng.Float64() < 0.2 {
		last = pick(g, g.prof.surnames)
	} else {
		last = pick(g, pool.surnames)
	}
	if pool == &poolIndian { // Sikh naming: Singh for men, Kaur for women
		switch {
		case sex == 1 && last == "Kaur":
			last = "Singh"
		case sex == 2 && last == "Singh":
			last = "Kaur"
		}
	}
	if g.rng.Float64() < 0.01 {
		last += "-" + pick(g, poolBritish.surnames)
	}
	r.last = last

	x := g.rng.Float64()
	switch {
	case r.gender != "1" && r.gender != "2" && x < 0.5:
		r.title = "Mx"
	case x < 0.02:
		r.title = "Dr"
	case sex == 1 && x < 0.03:
		r.title = "Rev"
	case sex == 1:
		r.title = "Mr"
	case x < 0.70:
		r.title = "Mrs"
	case x < 0.83:
		r.title = "Miss"
	default:
		r.title = "Ms"
	}
}

// phone returns a MOBILE value: empty for ~30%, a landline for ~6%, otherwise a mobile in
// 07… or +447… form. All numbers are in Ofcom's drama ranges.
func (g *generator) phone() string {
	switch x := g.rng.Float64(); {
	case x < 0.30:
		return ""
	case x < 0.36:
		prefix := pick(g, g.prof.landlines) // 7 or 8 characters before the last digits
		digits := g.threeDigits()
		if len(prefix) == 7 {
			prefix += "0"
		}
		s := prefix + digits
		if g.rng.Float64() < 0.3 {
			// the way people write them: 01632 960123, 0117 496 0123, 020 7946 0123
			switch {
			case strings.HasPrefix(s, "02"):
				s = s[:3] + " " + s[3:7] + " " + s[7:]
			case strings.HasPrefix(s, "01632"):
				s = s[:5] + " " + s[5:]
			default:
				s = s[:4] + " " + s[4:7] + " " + s[7:]
			}
		}
		return s
	default:
		if g.rng.Float64() < 0.35 {
			return "+44" + mobileDramaPrefix[1:] + g.threeDigits()
		}
		return mobileDramaPrefix + g.threeDigits()
	}
}

func (g *generator) threeDigits() string {
	n := g.rng.IntN(1000)
	return string([]byte{byte('0' + n/100), byte('0' + n/10%10), byte('0' + n%10)})
}
