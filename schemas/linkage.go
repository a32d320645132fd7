package schemas

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"
)

// Consented linkage (SPEC §9, issue #15): every layout and store key of package
// linkage. Privacy rules the layouts carry:
//
//   - nhs_pseudonym (the project pseudonym, the same as the sample's) appears only in
//     the restricted landing area, the lake's validated extracts (linkage_<dataset>,
//     linkage_diagnoses) and the restricted staging and truth files; never in a linked
//     output, an export, the warehouse or a report.
//   - Linked outputs (Linked*) are keyed by release_pseudonym, a keyed hash of the
//     project pseudonym under a key derived per release, so two releases cannot be
//     joined by anyone who does not hold the project key. They carry no
//     survey_record_id, response_id or extract row id either: each is stable across
//     releases and would join them.
//   - Rejection rows never repeat a value from the extract (no key, code or date).
//
// Store keys (proposed; the key builders below are the only place they are spelled):
//
//	restricted-landing/linkage/{wave}/{dataset}/…             extracts as received, deleted once a run has validated them
//	lake/linkage_{dataset}/wave={wave}/part-{sha16}.parquet   accepted activity rows
//	lake/linkage_diagnoses/wave={wave}/part-{dataset}-{sha16}.parquet  their diagnosis codes, long
//	lake/linkage_rejections/wave={wave}/part-{dataset}-{sha16}.parquet rejected and excluded rows
//	lake/linkage_consent_events/wave={wave}/{name}.parquet   consent events (derived, operator-{id}, optouts-{ics}-{sha16})
//	lake/{linked table}/wave={wave}/release={release}/part-0.parquet   linked outputs and the quality report
//	reports/linkage/{wave}/extracts/{dataset}/{file}.rejections.csv    rejection report of one extract
//	reports/linkage/{wave}/extract-lineage.json                the deleted extracts' SHA-256, size and counts
//	reports/linkage/{wave}/{release}/{table}.csv               the quality report as CSV
//	export/udal/{wave}/{release}/…                            the UDAL-style export and its manifest.json
//	restricted/linkage/{wave}/synth/…                          synthetic truth (restricted)
//
// A Hive partition column (wave=, release=) is never also a column of the file: Spark
// refuses a data column that repeats a partition column's name, so the files carry
// wave_id and release_id instead.

// Consent events (ConsentEvent.Event).
const (
	ConsentGiven     = "given"     // the person answered yes to the consent question
	ConsentDeclined  = "declined"  // the person answered no
	ConsentWithdrawn = "withdrawn" // an opt-out or an operator's withdrawal after consent
)

// Sources of a consent event (ConsentEvent.SourceKind).
const (
	ConsentSourceResponse   = "response"       // a loaded response's consent answer
	ConsentSourceOptOut     = "optout_extract" // a row of the supplier's opt-out extract
	ConsentSourceOperator   = "operator"       // `ice link withdraw` by a named operator
	ConsentSourceLateOptOut = "late_optout"    // a late opt-out recorded with `ice wave opt-out`
)

// LateOptOutSource is the source_file of a late opt-out's outcome event: recorded by an
// operator with `ice wave opt-out`, not read from a supplier's file.
const LateOptOutSource = "ice wave opt-out"

// ConsentEvent is one fact about a person's consent to linkage. Consent is the record
// of these events, never a flag: a person is linked only when their latest event is
// "given" (see package linkage). Event ids are deterministic, so deriving the events
// again gives the same rows.
type ConsentEvent struct {
	EventID        string    `col:"event_id,key,unique,doc=deterministic: hash of the source and the event"`
	WaveID         string    `col:"wave_id"`
	ICS            string    `col:"ics"`
	SurveyRecordID string    `col:"survey_record_id,doc=the invitation's survey record id (a carer answers on the patient's)"`
	RespondentType string    `col:"respondent_type,doc=patient or carer"`
	Event          string    `col:"event,doc=given or declined or withdrawn"`
	At             time.Time `col:"at,doc=when the answer was received or the withdrawal made"`
	SourceKind     string    `col:"source_kind,doc=response or optout_extract or late_optout or operator"`
	SourceRef      string    `col:"source_ref,doc=response_id or the opt-out outcome event id or {sha256}:{row} of a withdraw_linkage opt-out row or the command id"`
	SourceFile     string    `col:"source_file,doc=opt-out extract file name; ice wave opt-out for a late opt-out; empty for other sources"`
	SourceRow      int64     `col:"source_row,doc=1-based data row of the opt-out extract; 0 when not known"`
	SourceSHA256   string    `col:"source_sha256,doc=checksum of the file the event came from; empty for operator commands"`
	Operator       string    `col:"operator,doc=who ran the withdrawal command; empty for other sources"`
	Reason         string    `col:"reason,doc=reason code (never free text)"`
}

// ConsentEventID is the deterministic id of a consent event: a hash of its source kind,
// the source's reference and the event, so deriving the event again (in package linkage,
// or in the response load for a withdraw_linkage opt-out row) gives the same id.
func ConsentEventID(kind, ref, event string) string {
	h := sha256.Sum256([]byte("icesurvey/linkage/consent/v1\x00" + kind + "\x00" + ref + "\x00" + event))
	return "C" + hex.EncodeToString(h[:12])
}

// ConsentEventLayout is the lake layout of consent events.
func ConsentEventLayout() *Layout { return LayoutOf[ConsentEvent]("linkage_consent_events") }

// LinkageActivity is one accepted row of a secondary-care or social-care extract, in
// the canonical shape every dataset definition maps its columns to (linkage/defs).
type LinkageActivity struct {
	RowID           string     `col:"row_id,key,unique,doc=deterministic: A then the first 12 hex digits of the extract's SHA-256 then - and the data row"`
	WaveID          string     `col:"wave_id"`
	DatasetID       string     `col:"dataset_id"`
	NHSPseudonym    string     `col:"nhs_pseudonym,doc=the project pseudonym (as the sample's); never leaves the lake"`
	ActivityDate    time.Time  `col:"activity_date,date,doc=admission or attendance or appointment or contact or service start"`
	EndDate         *time.Time `col:"end_date,date,doc=discharge or service end; NULL when the dataset has none"`
	DurationDays    int32      `col:"duration_days,doc=end_date minus activity_date in days (bed days of a spell); 0 without an end date"`
	ActivityType    string     `col:"activity_type,doc=canonical type from the definition's value map"`
	PointOfDelivery string     `col:"point_of_delivery,doc=the source's own code for the setting or type as given"`
	ProviderCode    string     `col:"provider_code,doc=provider organisation code (ODS; a local authority's ONS code for social care)"`
	DiagnosisCodes  string     `col:"diagnosis_codes,doc=normalised ICD-10 or SNOMED CT codes joined by ; primary first"`
	SourceFile      string     `col:"source_file,doc=base name of the extract"`
	SourceRow       int64      `col:"source_row,doc=1-based data row in the extract (a CSV header is not counted)"`
	SourceSHA256    string     `col:"source_sha256"`
	// RecordKey and SourceOrder say which rows are one record: NULL in an object
	// validated before they were kept (each of its rows is then a record of its own).
	RecordKey   *string `col:"record_key,doc=keyed hash (HMAC-derived key of the project key and the dataset) of the row's record id (the whole row when the dataset has none); never leaves the lake; empty when the row has no record id"`
	SourceOrder *string `col:"source_order,doc=when the extract landed (UTC yyyy-mm-ddThh:mm:ss.nnnnnnnnnZ) then a space and its SHA-256: of the rows of one record in several extracts the release keeps the greatest's"`
}

// LinkageActivityLayout is the lake layout of accepted extract rows.
func LinkageActivityLayout() *Layout { return LayoutOf[LinkageActivity]("linkage_activity") }

// LinkageDiagnosis is one diagnosis or condition code of an accepted extract row, in
// the long shape the condition code lists are matched against by equality (code3 and
// code4 for ICD-10 prefixes), which every SQL engine can hash-join.
type LinkageDiagnosis struct {
	RowID        string    `col:"row_id,unique,doc=the activity row"`
	WaveID       string    `col:"wave_id"`
	DatasetID    string    `col:"dataset_id"`
	NHSPseudonym string    `col:"nhs_pseudonym"`
	ActivityDate time.Time `col:"activity_date,date"`
	Position     int32     `col:"position,doc=1 for the primary code"`
	CodeSystem   string    `col:"code_system,doc=icd10 or snomed"`
	Code         string    `col:"code,doc=ICD-10 without the dot and dagger or asterisk; SNOMED CT concept id"`
	Code3        string    `col:"code3,doc=first three characters of an ICD-10 code; empty for SNOMED CT"`
	Code4        string    `col:"code4,doc=first four characters of an ICD-10 code; empty when shorter or SNOMED CT"`
}

// LinkageDiagnosisLayout is the lake layout of diagnosis codes.
func LinkageDiagnosisLayout() *Layout { return LayoutOf[LinkageDiagnosis]("linkage_diagnoses") }

// Dispositions of an extract row that was not accepted.
const (
	LinkageRejected = "rejected" // a data error the supplier must correct
	LinkageExcluded = "excluded" // valid, but about someone who may not be linked (no consent)
)

// LinkageRejection is one finding about one extract row (or, with row 0, the whole
// extract: the excluded rows, counted). A row may have several; it is accepted only with none. Message never
// repeats a value of the extract.
type LinkageRejection struct {
	WaveID       string `col:"wave_id"`
	DatasetID    string `col:"dataset_id"`
	File         string `col:"file,doc=base name of the extract"`
	Row          int64  `col:"row,doc=1-based data row (a CSV header is not counted); 0 for the whole file"`
	Field        string `col:"field,doc=column of the extract; empty for the whole row"`
	ReasonCode   string `col:"reason_code"`
	Disposition  string `col:"disposition,doc=rejected or excluded"`
	Message      string `col:"message"`
	SourceSHA256 string `col:"source_sha256"`
}

// LinkageRejectionLayout is the lake and CSV layout of extract rejections.
func LinkageRejectionLayout() *Layout { return LayoutOf[LinkageRejection]("linkage_rejections") }

// LinkageFrame is one sampled person as the linkage stages them: frame variables, whether
// they responded and consent, and their window dates. Restricted: it holds both the
// project pseudonym and the release pseudonym, so it is written only to a temporary
// file (or, on a distributed engine, the restricted area) and deleted after the build.
type LinkageFrame struct {
	// PersonIndex numbers the frame's people densely from 0: the queries group and join
	// on it rather than on a 64-character pseudonym, which is slower to hash and compare.
	PersonIndex      int32      `col:"person_index,unique,doc=dense number of the person within this build's frame"`
	SurveyRecordID   string     `col:"survey_record_id,unique"`
	ICS              string     `col:"ics"`
	NHSPseudonym     string     `col:"nhs_pseudonym,unique"`
	AgeBand          string     `col:"age_band"`
	Gender           string     `col:"gender"`
	EthnicityGroup   string     `col:"ethnicity_group"`
	EFIBand          string     `col:"efi_band"`
	Responded        bool       `col:"responded,doc=a kept complete patient response"`
	Consented        bool       `col:"consented,doc=responded and the latest patient consent event is given"`
	ResponseDate     *time.Time `col:"response_date,date"`
	ResponseMonth    string     `col:"response_month,doc=yyyy-mm of the response; empty unless responded"`
	From6M           *time.Time `col:"from_6m,date,doc=first day of the 6-month window before the response"`
	From12M          *time.Time `col:"from_12m,date"`
	LookbackFrom     *time.Time `col:"lookback_from,date,doc=first day of the condition and export lookback"`
	ReleasePseudonym string     `col:"release_pseudonym,unique,doc=empty unless consented"`
}

// LinkageFrameLayout is the staged frame's layout.
func LinkageFrameLayout() *Layout { return LayoutOf[LinkageFrame]("linkage_frame") }

// LinkageAnswer is one closed answer of a kept complete patient response, scored, as
// the linkage stages them (restricted staging: keyed by the respondent's dense number in
// the staged frame, which the queries join on: cheaper to write, hash and compare than a
// survey record id).
type LinkageAnswer struct {
	PersonIndex int32  `col:"person_index,doc=the respondent's person_index in the staged frame"`
	QuestionID  string `col:"question_id"`
	AnswerCode  string `col:"answer_code"`
	Scored      bool   `col:"scored,doc=the question has positive codes"`
	Positive    bool   `col:"positive"`
	InBase      bool   `col:"in_base,doc=counted in the base of % positive"`
}

// LinkageAnswerLayout is the staged answers' layout.
func LinkageAnswerLayout() *Layout { return LayoutOf[LinkageAnswer]("linkage_answers_stage") }

// LinkageMeasure maps one dataset's canonical activity type to the utilisation measure
// it counts towards (from the dataset definitions).
type LinkageMeasure struct {
	DatasetID    string `col:"dataset_id"`
	ActivityType string `col:"activity_type"`
	Measure      string `col:"measure"`
	BedDays      bool   `col:"bed_days,doc=its duration counts as bed days"`
}

// LinkageMeasureLayout is the staged measure map's layout.
func LinkageMeasureLayout() *Layout { return LayoutOf[LinkageMeasure]("linkage_measure_map") }

// LinkageCode is one entry of a condition code list, as staged for the SQL.
type LinkageCode struct {
	ConditionID     string `col:"condition_id"`
	CodelistID      string `col:"codelist_id"`
	CodelistVersion string `col:"codelist_version"`
	CodeSystem      string `col:"code_system,doc=icd10 or snomed"`
	MatchLength     int32  `col:"match_length,doc=3 or 4 for an ICD-10 prefix; 0 for an exact code"`
	Code            string `col:"code"`
}

// LinkageCodeLayout is the staged code list's layout.
func LinkageCodeLayout() *Layout { return LayoutOf[LinkageCode]("linkage_codelist") }

// LinkageDataset names one dataset, as staged for the SQL (one row per definition).
type LinkageDataset struct {
	DatasetID string `col:"dataset_id"`
}

// LinkageDatasetLayout is the staged dataset list's layout.
func LinkageDatasetLayout() *Layout { return LayoutOf[LinkageDataset]("linkage_datasets") }

// LinkedRespondent is one consenting patient respondent's linked utilisation in the 6
// and 12 months before their response, with treatment-burden measures. Keyed by the
// release pseudonym only.
type LinkedRespondent struct {
	ReleaseID              string `col:"release_id"`
	WaveID                 string `col:"wave_id"`
	ReleasePseudonym       string `col:"release_pseudonym,key,unique,doc=keyed per release: two releases cannot be joined"`
	ICS                    string `col:"ics"`
	AgeBand                string `col:"age_band"`
	Gender                 string `col:"gender"`
	EthnicityGroup         string `col:"ethnicity_group"`
	EFIBand                string `col:"efi_band"`
	ResponseMonth          string `col:"response_month,doc=yyyy-mm of the response"`
	DatasetsLinked         int64  `col:"datasets_linked,doc=datasets with any accepted row for the person"`
	GPAppointments6M       int64  `col:"gp_appointments_6m"`
	GPAppointments12M      int64  `col:"gp_appointments_12m"`
	AEAttendances6M        int64  `col:"ae_attendances_6m"`
	AEAttendances12M       int64  `col:"ae_attendances_12m"`
	EmergencyAdmissions6M  int64  `col:"emergency_admissions_6m"`
	EmergencyAdmissions12M int64  `col:"emergency_admissions_12m"`
	ElectiveAdmissions6M   int64  `col:"elective_admissions_6m"`
	ElectiveAdmissions12M  int64  `col:"elective_admissions_12m"`
	BedDays6M              int64  `col:"bed_days_6m,doc=length of stay of spells admitted in the window"`
	BedDays12M             int64  `col:"bed_days_12m"`
	Outpatient6M           int64  `col:"outpatient_attendances_6m"`
	Outpatient12M          int64  `col:"outpatient_attendances_12m"`
	Community6M            int64  `col:"community_contacts_6m"`
	Community12M           int64  `col:"community_contacts_12m"`
	MentalHealth6M         int64  `col:"mental_health_contacts_6m"`
	MentalHealth12M        int64  `col:"mental_health_contacts_12m"`
	SocialCare6M           int64  `col:"social_care_services_6m"`
	SocialCare12M          int64  `col:"social_care_services_12m"`
	DistinctServices6M     int64  `col:"distinct_services_6m,doc=datasets with a counted contact (treatment burden)"`
	DistinctServices12M    int64  `col:"distinct_services_12m"`
	DistinctProviders6M    int64  `col:"distinct_providers_6m,doc=provider organisations of counted contacts"`
	DistinctProviders12M   int64  `col:"distinct_providers_12m"`
	ContactDays6M          int64  `col:"contact_days_6m,doc=days with any counted contact"`
	ContactDays12M         int64  `col:"contact_days_12m"`
}

// LinkedRespondentLayout is the linked_respondents layout.
func LinkedRespondentLayout() *Layout {
	return LayoutOf[LinkedRespondent](TableLinkedRespondents)
}

// LinkedCondition flags one condition of a linked respondent, found in a diagnosis or
// condition code of an accepted row in the lookback before the response.
type LinkedCondition struct {
	ReleaseID        string    `col:"release_id"`
	WaveID           string    `col:"wave_id"`
	ReleasePseudonym string    `col:"release_pseudonym,key"`
	ConditionID      string    `col:"condition_id,key"`
	CodelistID       string    `col:"codelist_id"`
	CodelistVersion  string    `col:"codelist_version"`
	Records          int64     `col:"records,doc=coded records in the lookback"`
	FirstSeen        time.Time `col:"first_seen,date"`
}

// LinkedConditionLayout is the linked_conditions layout.
func LinkedConditionLayout() *Layout { return LayoutOf[LinkedCondition](TableLinkedConditions) }

// LinkedAnswer is one closed answer of a linked respondent, scored, so linked
// utilisation can be set beside experience without the survey record id.
type LinkedAnswer struct {
	ReleaseID        string `col:"release_id"`
	WaveID           string `col:"wave_id"`
	ReleasePseudonym string `col:"release_pseudonym,key"`
	QuestionID       string `col:"question_id,key"`
	AnswerCode       string `col:"answer_code,key"`
	Scored           bool   `col:"scored"`
	Positive         bool   `col:"positive"`
	InBase           bool   `col:"in_base"`
}

// LinkedAnswerLayout is the linked_answers layout.
func LinkedAnswerLayout() *Layout { return LayoutOf[LinkedAnswer](TableLinkedAnswers) }

// Cohort flow stages (LinkageFlow.Stage), in order.
const (
	FlowSampled   = "sampled"
	FlowResponded = "responded"
	FlowConsented = "consented"
	FlowLinked    = "linked"
)

// LinkageFlow is one step of the cohort flow of a release, by ICS ("ALL" for the wave)
// and, for the linked stage, by dataset ("any" for linked to at least one).
type LinkageFlow struct {
	ReleaseID string `col:"release_id"`
	WaveID    string `col:"wave_id"`
	ICS       string `col:"ics,key"`
	Stage     string `col:"stage,key"`
	DatasetID string `col:"dataset_id,key,doc=empty before the linked stage; any or a dataset id"`
	People    int64  `col:"people"`
}

// LinkageFlowLayout is the linkage_cohort_flow layout.
func LinkageFlowLayout() *Layout { return LayoutOf[LinkageFlow](TableLinkageFlow) }

// LinkageMatchRate is the share of consenting respondents of one group found in one
// dataset (at least one accepted row).
type LinkageMatchRate struct {
	ReleaseID  string  `col:"release_id"`
	WaveID     string  `col:"wave_id"`
	DatasetID  string  `col:"dataset_id,key"`
	Dimension  string  `col:"dimension,key,doc=all or ics or age_band or gender or ethnicity_group or efi_band"`
	Category   string  `col:"category,key"`
	Consenters int64   `col:"consenters"`
	Linked     int64   `col:"linked"`
	MatchRate  float64 `col:"match_rate,doc=linked / consenters"`
}

// LinkageMatchRateLayout is the linkage_match_rates layout.
func LinkageMatchRateLayout() *Layout {
	return LayoutOf[LinkageMatchRate](TableLinkageMatchRates)
}

// LinkageConsentBias compares consenting with non-consenting respondents: on a frame
// variable (the share in each category) or a headline closed question (the share
// positive among those in its base).
type LinkageConsentBias struct {
	ReleaseID           string   `col:"release_id"`
	WaveID              string   `col:"wave_id"`
	Dimension           string   `col:"dimension,key,doc=a frame variable or question:ID"`
	Category            string   `col:"category,key,doc=a frame category or positive"`
	Consenters          int64    `col:"consenters,doc=consenters in the category"`
	ConsentersBase      int64    `col:"consenters_base"`
	NonConsenters       int64    `col:"non_consenters"`
	NonConsentersBase   int64    `col:"non_consenters_base"`
	ConsentersShare     *float64 `col:"consenters_share,doc=consenters / consenters_base; NULL for an empty base"`
	NonConsentersShare  *float64 `col:"non_consenters_share"`
	DifferencePctPoints *float64 `col:"difference_pct_points,doc=100 x (consenters_share - non_consenters_share)"`
}

// LinkageConsentBiasLayout is the linkage_consent_bias layout.
func LinkageConsentBiasLayout() *Layout {
	return LayoutOf[LinkageConsentBias](TableLinkageConsentBias)
}

// LinkageAccuracy is the precision and recall of one dataset's links against a truth
// file (synthetic data only), over (consenting respondent, dataset) pairs.
type LinkageAccuracy struct {
	ReleaseID string  `col:"release_id"`
	WaveID    string  `col:"wave_id"`
	DatasetID string  `col:"dataset_id,key"`
	TruePairs int64   `col:"true_pairs,doc=consenters who truly had activity in the dataset"`
	Linked    int64   `col:"linked_pairs,doc=consenters the linkage found in the dataset"`
	Correct   int64   `col:"correct_pairs,doc=found and truly had activity"`
	Precision float64 `col:"precision"`
	Recall    float64 `col:"recall"`
}

// LinkageAccuracyLayout is the linkage_accuracy layout.
func LinkageAccuracyLayout() *Layout { return LayoutOf[LinkageAccuracy](TableLinkageAccuracy) }

// Truth dispositions (LinkageTruth.Expected).
const (
	TruthAccepted     = "accepted"
	TruthRejected     = "rejected"
	TruthNotDelivered = "not_delivered" // a match failure: the activity happened but the extract lacks it
)

// LinkageTruth is one activity of the synthetic truth: who truly had it, how it was
// delivered in the extract (if at all), and what validation should make of it.
// Restricted (it holds project pseudonyms); synthetic data only.
type LinkageTruth struct {
	WaveID       string    `col:"wave_id"`
	DatasetID    string    `col:"dataset_id"`
	File         string    `col:"file,doc=extract base name; empty when not delivered"`
	Row          int64     `col:"row,doc=data row in the extract; 0 when not delivered"`
	TrueOwner    string    `col:"true_owner,doc=nhs_pseudonym of the person who had the activity; empty for an injected row about nobody"`
	DeliveredKey string    `col:"delivered_key,doc=the person key the extract row carries"`
	ActivityDate time.Time `col:"activity_date,date"`
	ActivityType string    `col:"activity_type,doc=canonical type"`
	Fault        string    `col:"fault,doc=none or the injected fault"`
	Expected     string    `col:"expected,doc=accepted or rejected or not_delivered (before the consent filter)"`
	Reason       string    `col:"reason,doc=the reason code validation should give a rejected row"`
}

// LinkageTruthLayout is the truth file's layout.
func LinkageTruthLayout() *Layout { return LayoutOf[LinkageTruth]("linkage_truth") }

// Lake and warehouse tables of the linkage.
const (
	TableLinkageConsent     = "linkage_consent_events"
	TableLinkageDiagnoses   = "linkage_diagnoses"
	TableLinkageRejections  = "linkage_rejections"
	TableLinkedRespondents  = "linked_respondents"
	TableLinkedConditions   = "linked_conditions"
	TableLinkedAnswers      = "linked_answers"
	TableLinkageFlow        = "linkage_cohort_flow"
	TableLinkageMatchRates  = "linkage_match_rates"
	TableLinkageConsentBias = "linkage_consent_bias"
	TableLinkageAccuracy    = "linkage_accuracy"
	TableLinkageDisclosed   = "linkage_disclosed"
)

// LinkedActivityTable is the lake table of one dataset's linked activity of a release
// (release pseudonyms, and only the columns the dataset's definition lets an export
// carry).
func LinkedActivityTable(dataset string) string { return "linked_activity_" + dataset }

// LinkageTable is the lake table of one dataset's accepted extract rows.
func LinkageTable(dataset string) string { return "linkage_" + dataset }

// LinkageLandingPrefix is where a dataset's extracts for a wave land (restricted landing).
func LinkageLandingPrefix(wave, dataset string) string {
	return LinkageLandingArea(wave) + dataset + "/"
}

// LinkageLandingArea is where every dataset's extracts for a wave land.
func LinkageLandingArea(wave string) string {
	return AreaRestrictedLanding.Prefix() + fmt.Sprintf("linkage/%s/", wave)
}

// LinkageExtractLineageKey records, before a linkage run deletes the extracts it
// validated, each one's SHA-256, size and counts (linkage.RecordExtractLineage).
func LinkageExtractLineageKey(wave string) string {
	return fmt.Sprintf("reports/linkage/%s/extract-lineage.json", wave)
}

// LinkageActivityPrefix is the lake partition of one dataset's accepted rows for a wave.
func LinkageActivityPrefix(dataset, wave string) string {
	return fmt.Sprintf("lake/%s/wave=%s/", LinkageTable(dataset), wave)
}

// LinkageActivityKey is the lake object of the accepted rows of the extract with sha.
func LinkageActivityKey(dataset, wave, sha string) string {
	return LinkageActivityPrefix(dataset, wave) + "part-" + short(sha) + ".parquet"
}

// LinkageDiagnosesPrefix is the lake partition of every dataset's diagnosis codes for a wave.
func LinkageDiagnosesPrefix(wave string) string {
	return fmt.Sprintf("lake/%s/wave=%s/", TableLinkageDiagnoses, wave)
}

// LinkageDiagnosesKey is the lake object of the diagnosis codes of the extract with sha.
func LinkageDiagnosesKey(dataset, wave, sha string) string {
	return LinkageDiagnosesPrefix(wave) + "part-" + dataset + "-" + short(sha) + ".parquet"
}

// LinkageRejectionsPrefix is the lake partition of every extract rejection of a wave.
func LinkageRejectionsPrefix(wave string) string {
	return fmt.Sprintf("lake/%s/wave=%s/", TableLinkageRejections, wave)
}

// LinkageRejectionsKey is the lake object of the rejections of the extract with sha.
func LinkageRejectionsKey(dataset, wave, sha string) string {
	return LinkageRejectionsPrefix(wave) + "part-" + dataset + "-" + short(sha) + ".parquet"
}

// LinkageRejectionReportKey is the CSV rejection report of one extract, for the data
// engineers who asked for it.
func LinkageRejectionReportKey(wave, dataset, file string) string {
	return fmt.Sprintf("reports/linkage/%s/extracts/%s/%s.rejections.csv", wave, dataset, file)
}

// LinkageConsentPrefix is the lake partition of a wave's consent events.
func LinkageConsentPrefix(wave string) string {
	return fmt.Sprintf("lake/%s/wave=%s/", TableLinkageConsent, wave)
}

// LinkageConsentKey is one object of consent events: "derived" for those derived from
// the responses and opt-outs (rewritten whole), "operator-{id}" for one command,
// "optouts-{ics}-{sha16}" for the withdraw_linkage rows of one opt-out file
// (LinkageOptOutConsentKey).
func LinkageConsentKey(wave, name string) string {
	return LinkageConsentPrefix(wave) + name + ".parquet"
}

// LinkageOptOutConsentKey is the object the daily response load writes for the
// withdraw_linkage rows of one opt-out file (checksum sha) of an ICS: consent-withdrawn
// events that change no survey outcome.
func LinkageOptOutConsentKey(wave, ics, sha string) string {
	return LinkageConsentKey(wave, "optouts-"+ics+"-"+short(sha))
}

// LinkedPartition is the lake partition of a linked output or quality table of one release.
func LinkedPartition(table, wave, release string) string {
	return fmt.Sprintf("lake/%s/wave=%s/release=%s/", table, wave, release)
}

// LinkedKey is the one object of a linked output or quality table of one release.
func LinkedKey(table, wave, release string) string {
	return LinkedPartition(table, wave, release) + "part-0.parquet"
}

// LinkageReportPrefix is where a release's quality report goes as CSV.
func LinkageReportPrefix(wave, release string) string {
	return fmt.Sprintf("reports/linkage/%s/%s/", wave, release)
}

// LinkageExportPrefix is the UDAL-style export of one release.
func LinkageExportPrefix(wave, release string) string {
	return AreaExport.Prefix() + fmt.Sprintf("udal/%s/%s/", wave, release)
}

// LinkageRestrictedPrefix is the restricted area of a wave's linkage (synthetic truth,
// staged relations for a distributed engine).
func LinkageRestrictedPrefix(wave string) string {
	return AreaRestricted.Prefix() + fmt.Sprintf("linkage/%s/", wave)
}

// LinkageTruthKey is the synthetic truth file of a wave's extracts.
func LinkageTruthKey(wave string) string {
	return LinkageRestrictedPrefix(wave) + "synth/truth.parquet"
}

func short(sha string) string {
	if len(sha) > 16 {
		return sha[:16]
	}
	return sha
}

// The aggregates of linkage_disclosed (LinkageDisclosed.Aggregate), declared once for
// the linkage that writes them and the dashboard that shows them.
const (
	// LinkageAggregateExperienceByBurden: a scored question's positive answers by a
	// treatment-burden grouping (providers_12m, services_12m, …, efi_band).
	LinkageAggregateExperienceByBurden = "experience_by_burden"
	// LinkageAggregateExperienceByCondition: a question's positive answers by condition.
	LinkageAggregateExperienceByCondition = "experience_by_condition"
	// LinkageAggregateMatchRates: the consenters of each group found (linked) in a
	// dataset, or not.
	LinkageAggregateMatchRates = "match_rates"
	// LinkageAggregateConsentRates: subject and grouping a frame variable (ics,
	// age_band, …), a group each of its categories, counted as consented or
	// not_consented.
	LinkageAggregateConsentRates = "consent_rates"
	// LinkageAggregateExperienceByConsent: subject a scored question, grouping
	// "consent", the groups consented and not_consented, counted as positive or
	// not_positive.
	LinkageAggregateExperienceByConsent = "experience_by_consent"
)

// LinkageDisclosed is one cell of the linkage's aggregate counts after disclosure
// control (package disclosure): experience by treatment burden and by condition, and
// match rates. A withheld cell has a NULL count and share and its status says why; only
// this table's published cells may be shown.
type LinkageDisclosed struct {
	ReleaseID  string   `col:"release_id"`
	WaveID     string   `col:"wave_id"`
	Aggregate  string   `col:"aggregate,key,doc=experience_by_burden or experience_by_condition or match_rates or consent_rates or experience_by_consent"`
	Subject    string   `col:"subject,key,doc=the question id or the dataset id of a match rate or the frame variable of a consent rate"`
	Grouping   string   `col:"grouping,key,doc=the grouping variable (providers_12m or condition or age_band or consent ...)"`
	GroupValue string   `col:"group_value,key"`
	Category   string   `col:"category,key,doc=positive or not_positive or linked or not_linked or consented or not_consented"`
	Count      *int64   `col:"count,doc=NULL when withheld"`
	Base       *int64   `col:"base,doc=the group's base; NULL when the row is withheld"`
	Share      *float64 `col:"share,doc=count / base; NULL when withheld"`
	Status     string   `col:"status,doc=empty when published or L caution or B base too small or P primary or S secondary"`
}

// LinkageDisclosedLayout is the linkage_disclosed layout.
func LinkageDisclosedLayout() *Layout { return LayoutOf[LinkageDisclosed](TableLinkageDisclosed) }
