package schemas

import "time"

// SampleFileRow is one row of the sample file an ICS sends (SPEC §3): the analysis
// variables of one person. Fields hold the text as received; the intake checks and
// converts it. Header names are matched case-insensitively, in any column order.
// TYPE1_OPT_OUT and DISSENT are optional columns (Y/N; absent or empty means N).
type SampleFileRow struct {
	RecordID         string `col:"RECORD_ID,required,doc=the ICS's own reference; unique in the file; joins to the mailing file"`
	NHSNumber        string `col:"NHS_NUMBER,required,doc=10 digits passing Modulus 11"`
	Postcode         string `col:"POSTCODE,required"`
	Age              string `col:"AGE,required,doc=whole years"`
	DateOfBirth      string `col:"DATE_OF_BIRTH,required,doc=yyyymmdd"`
	Gender           string `col:"GENDER,required,doc=person stated gender 1 2 9 0 or X"`
	Ethnicity        string `col:"ETHNICITY,required,doc=ethnic category A-Z (17 codes) or 99"`
	GPPracticeCode   string `col:"GP_PRACTICE_CODE,required,doc=ODS practice code"`
	ICSCode          string `col:"ICS_CODE,required,doc=ICB ODS code"`
	RegistrationDate string `col:"REGISTRATION_DATE,required,doc=yyyymmdd"`
	EFIScore         string `col:"EFI_SCORE,required,doc=electronic frailty index 0 to 1"`
	Type1OptOut      string `col:"TYPE1_OPT_OUT,doc=Y or N"`
	Dissent          string `col:"DISSENT,doc=Y or N"`
}

// SampleFileLayout is the layout of the ICS sample file.
func SampleFileLayout() *Layout { return LayoutOf[SampleFileRow]("sample_file") }

// MailingFileRow is one row of the mailing file an ICS sends (SPEC §3): the contact
// details of one person, joined to the sample file by RECORD_ID. It is identifiable
// data and only ever lands in the restricted area. A missing required column rejects
// the file; the other columns may be absent (read as empty). A name or address line
// may be at most 35 characters, the longest PDS holds (and so the DBS trace and an
// envelope window take): a longer one is rejected (FIELD_TOO_LONG), never cut.
type MailingFileRow struct {
	RecordID  string `col:"RECORD_ID,required"`
	Title     string `col:"TITLE,max=35"`
	FirstName string `col:"FIRST_NAME,max=35,doc=first name or initial"`
	LastName  string `col:"LAST_NAME,required,max=35"`
	Address1  string `col:"ADDRESS_1,required,max=35"`
	Address2  string `col:"ADDRESS_2,max=35"`
	Address3  string `col:"ADDRESS_3,max=35"`
	Address4  string `col:"ADDRESS_4,max=35"`
	Address5  string `col:"ADDRESS_5,max=35"`
	Postcode  string `col:"POSTCODE,required"`
	Mobile    string `col:"MOBILE,doc=UK mobile; anything else means no SMS"`
}

// MailingFileLayout is the layout of the ICS mailing file.
func MailingFileLayout() *Layout { return LayoutOf[MailingFileRow]("mailing_file") }

// SampleRecord is the pseudonymised analysis record of one accepted person in a wave's
// sample, kept in the lake (lake/sample/wave=W/ics=I/). It carries no direct
// identifier: no NHS number, name, address, full postcode or date of birth.
type SampleRecord struct {
	SurveyRecordID   string    `col:"survey_record_id,key,unique,doc=our id for the person in this wave"`
	WaveID           string    `col:"wave_id"`
	ICS              string    `col:"ics,doc=ICB ODS code"`
	NHSPseudonym     string    `col:"nhs_pseudonym,unique,doc=HMAC-SHA256 of the NHS number under the project key (hex)"`
	GPPracticeCode   string    `col:"gp_practice_code"`
	Age              int32     `col:"age,doc=whole years at the sampling date (from the date of birth)"`
	AgeBand          string    `col:"age_band"`
	Gender           string    `col:"gender,doc=person stated gender code"`
	Ethnicity        string    `col:"ethnicity,doc=ethnic category code"`
	EFIScore         float64   `col:"efi_score"`
	EFIBand          string    `col:"efi_band,doc=fit mild moderate or severe"`
	RegistrationDate time.Time `col:"registration_date,date"`
	HasMobile        bool      `col:"has_mobile,doc=a valid UK mobile number is held for SMS"`
	PostcodeDistrict string    `col:"postcode_district,doc=outward code of the postcode only"`
}

// SampleRecordLayout is the lake layout of accepted sample records.
func SampleRecordLayout() *Layout { return LayoutOf[SampleRecord](string(LakeSample)) }

// Dispositions of a record that did not enter the sample.
const (
	// DispositionRejected: the record has an error the ICS must correct.
	DispositionRejected = "rejected"
	// DispositionExcluded: the record is valid but the person is outside the cohort.
	DispositionExcluded = "excluded"
	// DispositionWarning: a report line about an input file as a whole (an unknown or
	// absent column, ignored worksheets), on row 1; no record is set aside for it.
	DispositionWarning = "warning"
)

// Input file names used in rejection reports.
const (
	FileSample  = "sample"
	FileMailing = "mailing"
)

// RejectionRow is one line of the rejection and exclusion report sent back to an ICS.
// Message never repeats an NHS number, name, address, postcode, date or phone number.
type RejectionRow struct {
	File        string `col:"file,doc=sample or mailing"`
	Row         int64  `col:"row,doc=row number in the file; the header is row 1"`
	RecordID    string `col:"record_id,doc=the ICS's RECORD_ID (an apostrophe in front when a spreadsheet would read it as a formula)"`
	Field       string `col:"field,doc=column the finding is about (empty for the whole record)"`
	ReasonCode  string `col:"reason_code"`
	Disposition string `col:"disposition,doc=rejected or excluded or warning (about the file as a whole)"`
	Message     string `col:"message"`
}

// RejectionLayout is the layout of the rejection report.
func RejectionLayout() *Layout { return LayoutOf[RejectionRow]("sample_rejection") }
