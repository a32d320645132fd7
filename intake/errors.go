package intake

import (
	"errors"
	"fmt"
	"strings"

	"icesurvey/fault"
)

// FileError is a failure of a whole input file: it cannot be read as the contract
// requires (bad header, wrong encoding, unreadable spreadsheet...). Retrying will not
// help; the ICS must send a corrected file. Errors from the store are never FileErrors.
type FileError struct {
	File    string // store key of the file
	Row     int    // row number (header = 1); 0 when the whole file is at fault
	Field   string // column concerned, if any
	Reason  string // a File* reason code
	Message string // what is wrong and how to fix it; never holds personal data
}

func (e *FileError) Error() string {
	var b strings.Builder
	b.WriteString("intake: ")
	b.WriteString(e.File)
	if e.Row > 0 {
		fmt.Fprintf(&b, ": row %d", e.Row)
	}
	if e.Field != "" {
		fmt.Fprintf(&b, ": field %s", e.Field)
	}
	fmt.Fprintf(&b, ": %s: %s", e.Reason, e.Message)
	return b.String()
}

// FaultKind implements fault.Classified: the ICS must send a corrected file.
func (e *FileError) FaultKind() fault.Kind { return fault.BadInput }

// IsFileError reports whether err is (or wraps) a *FileError.
func IsFileError(err error) bool {
	var fe *FileError
	return errors.As(err, &fe)
}

// ErrInvalidConfig is wrapped by Run's error when the Config is unusable; like a
// FileError, retrying will not help (a fault.Configuration error).
var ErrInvalidConfig = fault.New(fault.Configuration, "intake: invalid config")

// ErrReconciliation is wrapped when the counts of an intake do not add up. It means a
// defect in the intake, never bad data: nothing is written when it happens. It is left
// unclassified (retried): a retry after the defect is fixed and deployed succeeds.
var ErrReconciliation = errors.New("intake: reconciliation failed")

// ErrInputChanged is wrapped when an input object changed between two reads of one
// intake (its size, rows or CRC-32C differ from the first read's, or a row no
// longer matches the first read's). A retry reads the new object from the start, so it
// is an ordinary (retryable) failure.
var ErrInputChanged = errors.New("intake: input changed during intake")

// File-level reason codes (FileError.Reason).
const (
	FileFormatUnsupported = "FILE_FORMAT_UNSUPPORTED"
	FileEmpty             = "FILE_EMPTY"
	FileHeaderMissing     = "HEADER_MISSING_COLUMN"
	FileHeaderDuplicate   = "HEADER_DUPLICATE_COLUMN"
	FileHeaderMisspelt    = "HEADER_MISSPELT_COLUMN"
	FileEncodingNotUTF8   = "ENCODING_NOT_UTF8"
	FileEncodingUTF16     = "ENCODING_UTF16"
	FileCSVMalformed      = "CSV_MALFORMED"
	FileCSVLineEnds       = "CSV_LINE_ENDS_CR_ONLY"
	FileCSVDelimiter      = "CSV_NOT_COMMA_SEPARATED"
	FileLineTooLong       = "LINE_TOO_LONG"
	FileXLSXUnreadable    = "XLSX_UNREADABLE"
	FileTooManyRows       = "TOO_MANY_ROWS"
)

// Record-level reason codes: a record with one of these is rejected (the ICS must
// correct it). They are stable: reports, audit events and dashboards key on them.
const (
	ReasonRowMalformed            = "ROW_MALFORMED"
	ReasonRecordIDMissing         = "RECORD_ID_MISSING"
	ReasonRecordIDInvalid         = "RECORD_ID_INVALID"
	ReasonRecordIDDuplicate       = "RECORD_ID_DUPLICATE"
	ReasonNHSNumberInvalid        = "NHS_NUMBER_INVALID"
	ReasonNHSNumberDuplicate      = "NHS_NUMBER_DUPLICATE"
	ReasonPostcodeInvalid         = "POSTCODE_INVALID"
	ReasonAgeInvalid              = "AGE_INVALID"
	ReasonDOBInvalid              = "DOB_INVALID"
	ReasonAgeMismatch             = "AGE_MISMATCH"
	ReasonGenderInvalid           = "GENDER_INVALID"
	ReasonEthnicityInvalid        = "ETHNICITY_INVALID"
	ReasonPracticeInvalid         = "PRACTICE_INVALID"
	ReasonICSInvalid              = "ICS_INVALID"
	ReasonICSMismatch             = "ICS_MISMATCH"
	ReasonRegistrationDateInvalid = "REGISTRATION_DATE_INVALID"
	ReasonEFIInvalid              = "EFI_INVALID"
	ReasonEFIOutOfRange           = "EFI_OUT_OF_RANGE"
	ReasonFlagInvalid             = "FLAG_INVALID"
	ReasonNameMissing             = "NAME_MISSING"
	ReasonAddressTooShort         = "ADDRESS_TOO_SHORT"
	ReasonTextInvalid             = "TEXT_INVALID"
	ReasonFieldTooLong            = "FIELD_TOO_LONG"
	ReasonNoMailingRecord         = "NO_MAILING_RECORD"
	ReasonMailingRecordDuplicate  = "MAILING_RECORD_DUPLICATE"
	ReasonMailingRecordInvalid    = "MAILING_RECORD_INVALID"
	ReasonNoSampleRecord          = "NO_SAMPLE_RECORD"
	ReasonPostcodeMismatch        = "POSTCODE_MISMATCH"
	// ReasonSampleRecordRejected counts mailing rows set aside because the sample
	// record they belong to was rejected (MailingByReason only; not a report line).
	ReasonSampleRecordRejected = "SAMPLE_RECORD_REJECTED"
)

// Exclusion reason codes: the record is valid but the person is outside the cohort
// (SPEC §3). National data opt-out does not exclude.
const (
	ExclFrailty           = "FRAILTY_FIT_OR_MILD"
	ExclUnder18           = "UNDER_18"
	ExclRegisteredUnder6M = "REGISTERED_UNDER_6_MONTHS"
	ExclType1OptOut       = "TYPE1_OPT_OUT"
	ExclDissent           = "DISSENT"
	ExclNoUKAddress       = "NO_UK_POSTAL_ADDRESS"
)
