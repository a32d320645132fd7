package synth

// Disposition is what intake is expected to do with a sample row.
type Disposition string

// Dispositions. Precedence when a row meets more than one condition is
// Rejected > Excluded > Accepted, but the generator never lets an exclusion coincide with a
// rejecting fault (see Generate), so reconciliation does not depend on that precedence.
const (
	// Rejected: the row fails a validation rule and goes to the rejection report.
	Rejected Disposition = "rejected"
	// Excluded: the row is valid but outside the survey cohort (SPEC §3).
	Excluded Disposition = "excluded"
	// Accepted: the row is valid and in the cohort.
	Accepted Disposition = "accepted"
	// Unaffected: the fault changes nothing about the row's disposition (bad mobile: the
	// person simply gets no SMS).
	Unaffected Disposition = "none"
)

// Fault kinds. The names are stable: tests and reports downstream key on them.
const (
	FaultNHSCheckDigit        = "nhs_check_digit"        // 10 digits, Modulus 11 check digit wrong
	FaultNHSLength            = "nhs_length"             // 9 or 11 digits
	FaultDOBInvalidDate       = "dob_invalid_date"       // yyyymmdd shape but no such day (e.g. 19420231)
	FaultDOBFormat            = "dob_format"             // a real date in the wrong format (15/03/1942, 1942-03-15, ...)
	FaultAgeMismatch          = "age_dob_mismatch"       // AGE differs from the age at the sampling date by 2–6 years
	FaultGenderCode           = "gender_code"            // not one of 1, 2, 9, 0, X
	FaultEthnicityCode        = "ethnicity_code"         // not one of the 17 categories or 99
	FaultGPPracticeCode       = "gp_practice_code"       // not one letter then five digits
	FaultICSCode              = "ics_code"               // another ICS's code, or an old CCG code
	FaultRegistrationDate     = "registration_date"      // not a date, wrong format, or empty
	FaultEFIRange             = "efi_out_of_range"       // eFI score outside 0–1 (incl. a raw deficit count)
	FaultPostcodeInvalid      = "postcode_invalid"       // fails the UK postcode grammar (same value in both files)
	FaultPostcodeMismatch     = "postcode_mismatch"      // both valid, but the mailing postcode differs from the sample's
	FaultLastNameMissing      = "last_name_missing"      // LAST_NAME empty
	FaultAddressTooShort      = "address_too_short"      // fewer than MinAddressLines non-empty ADDRESS_n
	FaultDuplicateRecordID    = "duplicate_record_id"    // reuses an earlier row's RECORD_ID (in both files)
	FaultDuplicateNHSNumber   = "duplicate_nhs_number"   // the same person again under a new RECORD_ID
	FaultSampleWithoutMailing = "sample_without_mailing" // sample row written, mailing row left out
	FaultMailingWithoutSample = "mailing_without_sample" // mailing row written, sample row left out
	FaultMobileInvalid        = "mobile_invalid"         // MOBILE present but not a UK mobile (short, long, a letter, foreign): no SMS, not a rejection
)

// Exclusion kinds (SPEC §3). These are not faults: the rows are valid.
const (
	ExclusionFrailty      = "frailty_fit_or_mild"       // eFI ≤ 0.24
	ExclusionUnder18      = "under_18"                  // age at the sampling date < 18
	ExclusionRegistration = "registered_under_6_months" // registered after sampling date − 6 months
	ExclusionType1OptOut  = "type1_opt_out"             // TYPE1_OPT_OUT = Y
	ExclusionDissent      = "dissent"                   // DISSENT = Y
	// ExclusionNoUKAddress: POSTCODE is an NHS pseudo-postcode (ZZ99 3VZ no fixed abode,
	// ZZ99 3WZ address not known) in both files. ZZ99 fails the postcode grammar (Z is
	// never second) but is a recognised code meaning "no UK postal address", which SPEC §3
	// lists as an exclusion, not an error.
	ExclusionNoUKAddress = "no_uk_postal_address"
)

// MinAddressLines is the address rule the generator assumes intake applies: at least two
// non-empty ADDRESS_n fields (a street line and the post town), the minimum Royal Mail
// needs besides the postcode. Clean rows always have at least two.
const MinAddressLines = 2

// Fault describes one entry of the fault catalogue.
type Fault struct {
	Name        string
	Disposition Disposition
	// File says which file carries the fault: "sample", "mailing" or "both".
	File        string
	Description string
}

var catalogue = []Fault{
	{FaultNHSCheckDigit, Rejected, "sample", "NHS number fails the Modulus 11 check"},
	{FaultNHSLength, Rejected, "sample", "NHS number is not 10 digits"},
	{FaultDOBInvalidDate, Rejected, "sample", "DATE_OF_BIRTH is 8 digits but not a calendar date"},
	{FaultDOBFormat, Rejected, "sample", "DATE_OF_BIRTH is not yyyymmdd"},
	{FaultAgeMismatch, Rejected, "sample", "AGE disagrees with DATE_OF_BIRTH at the sampling date"},
	{FaultGenderCode, Rejected, "sample", "GENDER is not 1, 2, 9, 0 or X"},
	{FaultEthnicityCode, Rejected, "sample", "ETHNICITY is not an NHS ethnic category or 99"},
	{FaultGPPracticeCode, Rejected, "sample", "GP_PRACTICE_CODE is not one letter then five digits"},
	{FaultICSCode, Rejected, "sample", "ICS_CODE is not the ICS that sent the file"},
	{FaultRegistrationDate, Rejected, "sample", "REGISTRATION_DATE is missing or not a yyyymmdd date"},
	{FaultEFIRange, Rejected, "sample", "EFI_SCORE is outside 0–1"},
	{FaultPostcodeInvalid, Rejected, "both", "POSTCODE fails the UK postcode grammar (never a ZZ99 pseudo-postcode, which is an exclusion)"},
	{FaultPostcodeMismatch, Rejected, "mailing", "mailing POSTCODE differs from the sample POSTCODE"},
	{FaultLastNameMissing, Rejected, "mailing", "LAST_NAME is empty"},
	{FaultAddressTooShort, Rejected, "mailing", "fewer than two address lines"},
	{FaultDuplicateRecordID, Rejected, "both", "RECORD_ID repeats an earlier row's; every row sharing it is rejected"},
	{FaultDuplicateNHSNumber, Rejected, "sample", "NHS_NUMBER repeats an earlier row's; every row sharing it is rejected"},
	{FaultSampleWithoutMailing, Rejected, "sample", "sample row has no mailing row"},
	{FaultMailingWithoutSample, Rejected, "mailing", "mailing row has no sample row (not counted in Expected*, which count sample rows)"},
	{FaultMobileInvalid, Unaffected, "mailing", "MOBILE is not a UK mobile number: no SMS reminders, the row is still accepted"},
}

var exclusionKinds = []string{
	ExclusionFrailty, ExclusionUnder18, ExclusionRegistration, ExclusionType1OptOut, ExclusionDissent,
	ExclusionNoUKAddress,
}

// exclusionWeights are the relative frequencies of the exclusions among rows that have one.
var exclusionWeights = []float64{62, 2, 12, 20, 4, 1.5}

// exclusionRate is the share of rows (without a rejecting fault) given an exclusion.
const exclusionRate = 0.15

// Catalogue returns the fault catalogue in its stable order.
func Catalogue() []Fault { return append([]Fault(nil), catalogue...) }

// FaultNames returns the fault names in catalogue order.
func FaultNames() []string {
	out := make([]string, len(catalogue))
	for i, f := range catalogue {
		out[i] = f.Name
	}
	return out
}

// ExclusionKinds returns the exclusion names in a stable order.
func ExclusionKinds() []string { return append([]string(nil), exclusionKinds...) }

// FaultDisposition returns the disposition a fault gives the row(s) it affects, and false
// for an unknown name. For duplicate_record_id and duplicate_nhs_number every row sharing
// the value is rejected, including the earlier, otherwise clean, row.
func FaultDisposition(name string) (Disposition, bool) {
	for _, f := range catalogue {
		if f.Name == name {
			return f.Disposition, true
		}
	}
	return "", false
}

func faultIndex(name string) int {
	for i, f := range catalogue {
		if f.Name == name {
			return i
		}
	}
	return -1
}

func isDuplicateFault(name string) bool {
	return name == FaultDuplicateRecordID || name == FaultDuplicateNHSNumber
}
