package synth

import (
	"strconv"
	"strings"
)

// applyFault changes r to carry fault f. r is a valid record of an eligible person (the
// generator never combines a rejecting fault with an exclusion).
func (g *generator) applyFault(r *record, f string) {
	switch f {
	case FaultNHSCheckDigit:
		c := int(r.nhs[9] - '0')
		r.nhs = r.nhs[:9] + strconv.Itoa((c+1+g.rng.IntN(9))%10)

	case FaultNHSLength:
		if g.rng.IntN(2) == 0 {
			r.nhs = r.nhs[:9] // check digit dropped
		} else {
			r.nhs += strconv.Itoa(g.rng.IntN(10)) // a digit too many
		}

	case FaultDOBInvalidDate:
		bad := []string{"0229", "0230", "0231", "0431", "0631", "0931", "1131", "1301", "0015", "0000"}
		md := pick(g, bad)
		y := r.dobDate.Year()
		if md == "0229" && (y%4 == 0 && (y%100 != 0 || y%400 == 0)) {
			md = "0230" // 29 February exists in leap years
		}
		r.dob = strconv.Itoa(y) + md

	case FaultDOBFormat:
		layouts := []string{"02/01/2006", "2006-01-02", "02-Jan-2006", "020106", "2/1/2006", "02.01.2006"}
		r.dob = r.dobDate.Format(pick(g, layouts))

	case FaultAgeMismatch:
		d := 2 + g.rng.IntN(5)
		if r.ageN-d >= 18 && g.rng.IntN(2) == 0 {
			r.age = strconv.Itoa(r.ageN - d)
		} else {
			r.age = strconv.Itoa(r.ageN + d)
		}

	case FaultGenderCode:
		r.gender = pick(g, []string{"3", "M", "F", "4", "MALE"})

	case FaultEthnicityCode:
		r.ethnicity = pick(g, []string{"T", "Q", "98", "WB", "O", "I", "White British"})

	case FaultGPPracticeCode:
		code := r.gp
		switch g.rng.IntN(4) {
		case 0:
			r.gp = code[:5] // a digit short
		case 1:
			r.gp = code[1:] // letter dropped
		case 2:
			if i := strings.IndexByte(code[1:], '0'); i >= 0 {
				r.gp = code[:1+i] + "O" + code[2+i:] // letter O typed for zero
			} else {
				r.gp = code + "1"
			}
		default:
			r.gp = code[:1] + code // the letter doubled
		}

	case FaultICSCode:
		var others []string
		for _, p := range profiles {
			if p.code != g.prof.code {
				others = append(others, p.code)
			}
		}
		others = append(others, "26A", "15N") // old CCG codes
		r.ics = pick(g, others)

	case FaultRegistrationDate:
		switch g.rng.IntN(4) {
		case 0:
			r.reg = r.reg[:4] + "0230"
		case 1:
			r.reg = r.reg[6:8] + "/" + r.reg[4:6] + "/" + r.reg[:4]
		case 2:
			r.reg = ""
		default:
			r.reg = r.reg[:4] + "1332"
		}

	case FaultEFIRange:
		switch g.rng.IntN(3) {
		case 0:
			r.efi = pick(g, []string{"1.08", "1.35", "2.50"})
		case 1:
			r.efi = pick(g, []string{"-0.03", "-0.25"})
		default:
			r.efi = strconv.Itoa(r.efiK) // the raw deficit count, not divided by 36
		}

	case FaultPostcodeInvalid:
		out, _, _ := strings.Cut(r.postcode, " ")
		const forbidden = "CIKMOV"
		var pc string
		switch g.rng.IntN(4) {
		case 0:
			pc = out + " " + string([]byte{byte('0' + g.rng.IntN(10)), forbidden[g.rng.IntN(6)], forbidden[g.rng.IntN(6)]})
		case 1:
			pc = out // inward code missing
		case 2:
			pc = "Q" + out[1:] + " " + g.inward() // Q is never the first letter
		default:
			in := g.inward()
			pc = out + " " + in[1:] + in[:1] // inward digit misplaced
		}
		r.postcode, r.mpostcode = pc, pc

	case FaultPostcodeMismatch:
		out, _, _ := strings.Cut(r.postcode, " ")
		for r.mpostcode == r.postcode {
			r.mpostcode = out + " " + g.inward()
		}

	case FaultLastNameMissing:
		r.last = ""

	case FaultAddressTooShort:
		for i := MinAddressLines - 1; i < len(r.addr); i++ {
			r.addr[i] = ""
		}

	case FaultDuplicateRecordID:
		r.id = g.takePartner().id

	case FaultDuplicateNHSNumber:
		// The same person sent twice, e.g. after re-registering at another practice.
		p := g.takePartner()
		r.nhs, r.dob, r.dobDate, r.age, r.ageN = p.nhs, p.dob, p.dobDate, p.age, p.ageN
		r.gender, r.ethnicity, r.postcode = p.gender, p.ethnicity, p.postcode
		r.title, r.first, r.last, r.addr, r.mpostcode, r.mobile = p.title, p.first, p.last, p.addr, p.mpostcode, p.mobile

	case FaultMobileInvalid:
		switch g.rng.IntN(4) {
		case 0:
			r.mobile = mobileDramaPrefix + g.threeDigits()[:2] // a digit short
		case 1:
			r.mobile = mobileDramaPrefix + g.threeDigits() + "4" // a digit too many
		case 2:
			r.mobile = mobileDramaPrefix + "l" + g.threeDigits()[1:] // letter l for a one
		default:
			r.mobile = "+3361200" + g.threeDigits() + "7" // a French mobile: not UK, so no SMS
		}

	case FaultSampleWithoutMailing, FaultMailingWithoutSample:
		// Handled by the writer: one of the two rows is left out.
	}
}
