package schemas

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path"
	"regexp"
	"strings"
	"time"
)

// The store's key layout. Every object key and prefix the pipeline reads or writes is
// built by one function below, one per kind of object, and each area's prefix is
// declared once (Area), with who may read it and whether it holds personal data, in
// Areas (areas.go; the README's table of store areas is generated from it). Moving an
// area, or an object kind to another area, is a change to this file only.
//
//	landing/...                                open landing: files with no personal data (data engineers)
//	restricted-landing/{wave}/{ics}/...        sample and mailing files as received (those `ice wave
//	                                           start` copied in, in its own start-{time}-{nonce}/), their
//	                                           rejection reports beside them, the supplier's daily
//	                                           extracts (free text, responses/{day}/)
//	restricted/{wave}/{ics}/...                the mailing process's data: contacts, DBS exchange, print
//	                                           files and manifests, the SMS ledger
//	restricted/_dbs-mesh/                      the MESH transport's ledger
//	free-text/{wave}/{ics}/load_date=.../      free-text answers (named ICB users only)
//	lake/{table}/wave={wave}/ics={ics}/        pseudonymised analysis data, Parquet (analysts)
//	lake/audit/wave={wave}/                    compacted audit batches
//	lake/publication_lineage/wave={wave}/release={release}/lineage.json
//	                                           a release's internal lineage (not published)
//	drafts/{wave}/{release}/                   draft releases awaiting approval (publication team)
//	publish/{wave}/{release}/                  approved releases of comparable data (everyone)
//	reports/{wave}/{ics}/...                   declarations, response-load markers, retention lineage
//	audit/pending/{wave}/...                   audit attempts not yet compacted
//	exchange/dbs/{outbox,inbox}/               the DBS file drop
//	sim/...                                    the dev stack's simulators' own inputs

// Area is a top-level prefix of the store, with its own readers.
type Area string

// The store's areas. Each is a prefix of its own: none lies inside another, so one
// bucket policy statement per area grants exactly its readers.
const (
	// AreaLanding is the open landing area: files with no personal data.
	AreaLanding Area = "landing"
	// AreaRestrictedLanding holds input files with personal data (sample and mailing
	// files, their rejection reports) and the supplier's extracts (free text).
	AreaRestrictedLanding Area = "restricted-landing"
	// AreaRestricted is the mailing process's identifiable data.
	AreaRestricted Area = "restricted"
	// AreaFreeText holds free-text answers, read only by named ICB users.
	AreaFreeText Area = "free-text"
	AreaLake     Area = "lake"
	AreaPublish  Area = "publish"
	// AreaDrafts holds draft releases until they are approved (and after: refused and
	// superseded drafts stay here, never in AreaPublish).
	AreaDrafts   Area = "drafts"
	AreaReports  Area = "reports"
	AreaAudit    Area = "audit"
	AreaExchange Area = "exchange"
	AreaExport   Area = "export"
	AreaSim      Area = "sim"
)

// Prefix is the area's root, ending in "/".
func (a Area) Prefix() string { return string(a) + "/" }

// WavePrefix is an area's prefix for one wave (of the areas filed by wave: the
// landing areas, restricted, free text, reports).
func (a Area) WavePrefix(wave string) string { return a.Prefix() + wave + "/" }

// scoped is an area's prefix for one ICS of one wave.
func (a Area) scoped(wave, ics string) string { return a.WavePrefix(wave) + ics + "/" }

func dateDir(name string, day time.Time) string {
	return name + "=" + day.UTC().Format(time.DateOnly) + "/"
}

// Object names and suffixes used below.
const (
	parquetExt = ".parquet"
	jsonExt    = ".json"
	csvExt     = ".csv"
)

// ---- landing ---------------------------------------------------------------------

// LandingKey is where a file an ICS sent for a wave lands, by its base name: the
// restricted landing area, since sample and mailing files hold personal data.
func LandingKey(wave, ics, name string) string { return RestrictedLandingPrefix(wave, ics) + name }

// CheckIntakeFileKey refuses a store key of a sample or mailing file outside the
// restricted landing area: both hold personal data, and the intake writes its
// rejection report (the rejected records) beside the sample file, so read from the
// open landing area, the lake or any other, they would sit where readers of files
// with no personal data read.
func CheckIntakeFileKey(key string) error {
	if !strings.HasPrefix(key, AreaRestrictedLanding.Prefix()) || strings.Contains(key, "..") {
		return fmt.Errorf("the sample and mailing files hold personal data and are read only from %s (the intake writes its rejection report beside the sample file); put the file there, or give its local path for `ice wave start` to copy it there",
			AreaRestrictedLanding.Prefix())
	}
	return nil
}

// StartFolder names the folder in which one `ice wave start` stages a spec's local
// files, in each ICS's restricted landing area (StagedLandingKey): when it ran and a
// random nonce. Two starts of one new wave id at the same moment never write one
// object, so the wave that starts reads the files of the command that started it, and
// the other can delete its own. It never clashes with the supplier's responses/.
func StartFolder(at time.Time, nonce string) string {
	return "start-" + at.UTC().Format("20060102T150405Z") + "-" + nonce
}

// StagedLandingKey is where `ice wave start` copies a local file of an ICS, by its
// base name: in the start's own folder (StartFolder) of the ICS's restricted landing
// area, which the retention deletes with the rest of it.
func StagedLandingKey(wave, ics, start, name string) string {
	return RestrictedLandingPrefix(wave, ics) + start + "/" + name
}

// IntakeFileExtensions are the extensions of the sample and mailing files intake reads
// (lower case): a wave spec naming another is refused before the wave starts.
var IntakeFileExtensions = []string{".csv", ".xlsx"}

// RestrictedLandingPrefix holds every file received for one ICS of one wave that
// carries personal data or free text; the retention deletes all of it.
func RestrictedLandingPrefix(wave, ics string) string { return AreaRestrictedLanding.scoped(wave, ics) }

// OpenLandingKey is a file with no personal data received for a wave (open landing).
func OpenLandingKey(wave, name string) string { return AreaLanding.WavePrefix(wave) + name }

// ResponseLandingPrefix is where the supplier's files for one day land: the
// restricted landing area, since they carry free-text answers.
func ResponseLandingPrefix(wave, ics string, day time.Time) string {
	return RestrictedLandingPrefix(wave, ics) + "responses/" + day.UTC().Format(time.DateOnly) + "/"
}

// ResponseLandingKey is one supplier file of one day (ResponseFileName,
// SupplierFileName).
func ResponseLandingKey(wave, ics string, day time.Time, name string) string {
	return ResponseLandingPrefix(wave, ics, day) + name
}

// RejectionReportKey is the rejection and exclusion report of an intake, beside the
// sample file it was made from (wherever that landed: it holds the rejected records,
// so it is as identifiable as the file).
func RejectionReportKey(sampleKey string) string {
	return path.Join(path.Dir(sampleKey), "rejections"+csvExt)
}

// ---- restricted ------------------------------------------------------------------

// RestrictedPrefix is the restricted area for one ICS of one wave: the mailing
// process's data, all of it deleted after the retention period.
func RestrictedPrefix(wave, ics string) string { return AreaRestricted.scoped(wave, ics) }

// ContactsKey is the ICS's restricted contacts (schemas.Contact): the current ones,
// with any superseded NHS number replaced.
func ContactsKey(wave, ics string) string {
	return RestrictedPrefix(wave, ics) + "contacts" + parquetExt
}

// DBS exchange parts of one request, in the ICS's restricted area.
const (
	DBSRequest         = "-request.csv"      // the request as sent
	DBSRequestManifest = "-request.json"     // its manifest (contacts key, counts, digest)
	DBSReply           = "-reply.csv"        // the reply as received
	DBSResults         = "-results.parquet"  // one DBSResult per requested record
	DBSUpdatedContacts = "-contacts.parquet" // the contacts with superseded NHS numbers replaced
)

// DBSExchangeKey is one part (DBSRequest, DBSReply, …) of the DBS exchange of requestID.
func DBSExchangeKey(wave, ics, requestID, part string) string {
	return RestrictedPrefix(wave, ics) + "dbs/" + requestID + part
}

// DBSMeshLedgerPrefix is where the MESH transport keeps its per-request ledger. It is
// restricted: it holds a reply until the DBS check has stored it.
const DBSMeshLedgerPrefix = string(AreaRestricted) + "/_dbs-mesh/"

// DBSSimulatorPrefix is where the dev stack's DBS simulator keeps its requests and
// replies, in its own store (the simulated outside world's, not the pipeline's).
const DBSSimulatorPrefix = string(AreaRestricted) + "/_dbs-sim/"

// Records of one request in the MESH transport's ledger (DBSLedgerKey).
const (
	DBSLedgerIntent    = "intent" + jsonExt // a send was attempted
	DBSLedgerSent      = "sent" + jsonExt   // MESH accepted the request
	DBSLedgerReply     = "reply" + csvExt   // the reply, kept until the check has stored it
	DBSLedgerReplyMeta = "reply" + jsonExt  // the reply's message and whether it was acknowledged
)

// DBSLedgerKey is one record (DBSLedgerIntent, …) of requestID in a DBS transport's
// ledger under prefix.
func DBSLedgerKey(prefix, requestID, record string) string { return prefix + requestID + "/" + record }

// FileDropKey is the file of requestID in a file drop's outbox or inbox.
func FileDropKey(dir, requestID string) string { return path.Join(dir, requestID+csvExt) }

// FileDropDirs are the outbox and inbox of a file drop kept under prefix (the DBS
// simulator's own drop).
func FileDropDirs(prefix string) (outbox, inbox string) { return prefix + "outbox", prefix + "inbox" }

// DBSSimulatorPendingKey records when the DBS simulator under prefix received requestID.
func DBSSimulatorPendingKey(prefix, requestID string) string {
	return prefix + "pending/" + requestID + jsonExt
}

// DBS file-drop directories of `ice worker --dbs filedrop` (restricted exchange).
var (
	DBSFileDropOutbox = AreaExchange.Prefix() + "dbs/outbox"
	DBSFileDropInbox  = AreaExchange.Prefix() + "dbs/inbox"
)

// OutboxPrefix is where files for the print supplier and other mail processors go.
func OutboxPrefix(wave, ics string) string { return RestrictedPrefix(wave, ics) + "outbox/" }

// PrintFileKey is the print file of one letter step.
func PrintFileKey(wave, ics, step string) string {
	return OutboxPrefix(wave, ics) + "print/" + step + csvExt
}

const printManifestSuffix = ".manifest" + jsonExt

// PrintManifestKey is the manifest beside the print file at key.
func PrintManifestKey(printFileKey string) string { return printFileKey + printManifestSuffix }

// ParsePrintFileKey reads the wave and ICS from a print file key, which must lie in a
// restricted outbox (OutboxPrefix) and not name a manifest.
func ParsePrintFileKey(key string) (wave, ics string, err error) {
	p := strings.Split(key, "/")
	if len(p) < 5 || p[0] != string(AreaRestricted) || p[3] != "outbox" || p[1] == "" || p[2] == "" {
		return "", "", fmt.Errorf("print file key %q is not in a restricted outbox (want %s{wave}/{ics}/outbox/...)", key, AreaRestricted.Prefix())
	}
	if strings.HasSuffix(key, printManifestSuffix) {
		return "", "", fmt.Errorf("print file key %q names a manifest", key)
	}
	return p[1], p[2], nil
}

// SMSLedgerPrefix is the exactly-once ledger of one SMS step.
func SMSLedgerPrefix(wave, ics, step string) string {
	return RestrictedPrefix(wave, ics) + "sms-ledger/" + step + "/"
}

// SMSReceiptsSeenKey holds the final delivery statuses of one ICS's SMS step that
// another ICS's receipt listing read on the shared Notify key (notification id →
// status, JSON), so that this ICS's own fetch need not list them again. It is in the
// ICS's restricted area, deleted with it at retention.
func SMSReceiptsSeenKey(wave, ics, step string) string {
	return RestrictedPrefix(wave, ics) + "sms-receipts-seen/" + step + ".json"
}

var ledgerSafeRE = regexp.MustCompile(`^[A-Za-z0-9_~%-][A-Za-z0-9_~%.-]{0,199}$`)

// LedgerEntryKey is the key of the ledger entry for a message reference under prefix.
// A reference made by mailing.Reference is used as it is; any other is hashed so the
// key is safe.
func LedgerEntryKey(prefix, ref string) string {
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	if ledgerSafeRE.MatchString(ref) && !strings.Contains(ref, "..") {
		return prefix + ref + jsonExt
	}
	sum := sha256.Sum256([]byte(ref))
	return prefix + "sha256-" + hex.EncodeToString(sum[:]) + jsonExt
}

// IsLedgerEntry reports whether rest, a key with its ledger prefix removed, names a
// ledger entry.
func IsLedgerEntry(rest string) bool {
	return !strings.Contains(rest, "/") && strings.HasSuffix(rest, jsonExt)
}

// FreeTextRoot holds every load date's free text of one ICS, in the free-text area of
// its own (only named ICB users may read it). It is response data, kept after the
// retention deletion of the identifiable data.
func FreeTextRoot(wave, ics string) string { return AreaFreeText.scoped(wave, ics) }

// ProfileQuotesPrefix holds the quotations a coder chose for one experience
// profile's report in one ICS of a wave (#17). A chosen quotation is redacted text
// of a participant or respondent, so it stays in the free-text area with the notes
// it was taken from.
func ProfileQuotesPrefix(wave, ics, profile string) string {
	return FreeTextRoot(wave, ics) + "profile-quotes/" + profile + "/"
}

// ProfileQuoteKey is one chosen quotation: candidate (the machine's stable id of the
// redacted quotation) for one expected-care statement.
func ProfileQuoteKey(wave, ics, profile, expectation, candidate string) string {
	return ProfileQuotesPrefix(wave, ics, profile) + expectation + "/" + candidate + jsonExt
}

// FreeTextPrefix is the free text of one load date.
func FreeTextPrefix(wave, ics string, day time.Time) string {
	return FreeTextRoot(wave, ics) + dateDir("load_date", day)
}

// FreeTextKey is one supplier file's free text of one load date.
func FreeTextKey(wave, ics string, day time.Time, sha string) string {
	return FreeTextPrefix(wave, ics, day) + ResponsePartName(sha)
}

// ---- lake ------------------------------------------------------------------------

// LakePartition is the lake partition of table for one ICS of one wave.
func LakePartition(table LakeTable, wave, ics string) string {
	return AreaLake.Prefix() + string(table) + "/wave=" + wave + "/ics=" + ics + "/"
}

// LakeWavePrefix holds every ICS's partitions of table for one wave.
func LakeWavePrefix(table LakeTable, wave string) string {
	return AreaLake.Prefix() + string(table) + "/wave=" + wave + "/"
}

// SampleKey is the ICS's pseudonymised sample (SampleRecord).
func SampleKey(wave, ics string) string {
	return LakePartition(LakeSample, wave, ics) + "sample" + parquetExt
}

// SampleObject is SampleKey as a lake object for the warehouse.
func SampleObject(wave, ics string) LakeObject { return LakeSample.Object(SampleKey(wave, ics)) }

// DBSOutcomesKey holds the deceased outcome events of one DBS reply.
func DBSOutcomesKey(wave, ics, requestID string) string {
	return LakePartition(LakeOutcomeEvents, wave, ics) + "dbs-" + requestID + parquetExt
}

// OptOutPrefix starts the key of every late opt-out recorded by an operator, one
// object per person (OptOutKey).
func OptOutPrefix(wave, ics string) string {
	return LakePartition(LakeOutcomeEvents, wave, ics) + "optout-"
}

// OptOutKey is the late opt-out of one person.
func OptOutKey(wave, ics, surveyRecordID string) string {
	return OptOutPrefix(wave, ics) + surveyRecordID + parquetExt
}

// OptOutRecordID reads the survey record ID back from an opt-out key under prefix
// (OptOutPrefix); ok is false for any other key.
func OptOutRecordID(prefix, key string) (string, bool) {
	rest, found := strings.CutPrefix(key, prefix)
	if !found {
		return "", false
	}
	id, ok := strings.CutSuffix(rest, parquetExt)
	return id, ok && id != "" && !strings.Contains(id, "/")
}

// MailingHistoryKey holds the mailing events of one step.
func MailingHistoryKey(wave, ics, step string) string {
	return LakePartition(LakeMailingHistory, wave, ics) + step + parquetExt
}

// SelectionKey is one round of a mailing step's recipient list.
func SelectionKey(wave, ics, step, round string) string {
	return LakePartition(LakeMailingSelection, wave, ics) + step + "-" + round + parquetExt
}

// FinalOutcomesKey holds the ICS's final outcome codes, written at close.
func FinalOutcomesKey(wave, ics string) string {
	return LakePartition(LakeFinalOutcomes, wave, ics) + "final_outcomes" + parquetExt
}

// IsParquet reports whether key names a Parquet object.
func IsParquet(key string) bool { return strings.HasSuffix(key, parquetExt) }

// ResponseLoadPartition is the lake partition of a response-load table for one load date.
func ResponseLoadPartition(table LakeTable, wave, ics string, day time.Time) string {
	return LakePartition(table, wave, ics) + dateDir("load_date", day)
}

// ResponsePartName is the object name of one supplier file's output (by its SHA-256)
// in each response-load partition and in the free text.
func ResponsePartName(sha string) string { return "part-" + sha[:min(16, len(sha))] + parquetExt }

// ResponsePartKey is one supplier file's output in a response-load table.
func ResponsePartKey(table LakeTable, wave, ics string, day time.Time, sha string) string {
	return ResponseLoadPartition(table, wave, ics, day) + ResponsePartName(sha)
}

// ResponseReconcileKey is the duplicates object in which a load of day demotes a
// second kept response left by a load of the ICS that ran at the same time (named by
// a digest of its records, so the same demotions make the same object).
func ResponseReconcileKey(wave, ics string, day time.Time, digest string) string {
	return ResponseLoadPartition(LakeDuplicates, wave, ics, day) + ResponseReconcilePrefix + digest[:min(16, len(digest))] + parquetExt
}

// ResponseReconcilePrefix begins the name of a ResponseReconcileKey object.
const ResponseReconcilePrefix = "reconcile-"

// auditNoWave groups audit events that belong to no wave.
const auditNoWave = "_none"

func auditWaveDir(wave string) string {
	if wave == "" {
		return auditNoWave
	}
	return wave
}

// AuditBatchPrefix holds a wave's compacted audit batches ("" for no wave).
func AuditBatchPrefix(wave string) string {
	return AreaLake.Prefix() + string(LakeAudit) + "/wave=" + auditWaveDir(wave) + "/"
}

// AuditBatchKey is one compacted audit batch, named by the digest of its events.
func AuditBatchKey(wave, digest string) string {
	return AuditBatchPrefix(wave) + "batch-" + digest + parquetExt
}

// ---- reports ---------------------------------------------------------------------

// ReportsPrefix is where reports for one ICS of one wave go.
func ReportsPrefix(wave, ics string) string { return AreaReports.scoped(wave, ics) }

// DeclarationKey is the ICS's signed sample declaration.
func DeclarationKey(wave, ics string) string {
	return ReportsPrefix(wave, ics) + "declaration" + jsonExt
}

// ResponseLoadMarkerPrefix holds the markers of the ICS's loaded supplier files.
func ResponseLoadMarkerPrefix(wave, ics string) string {
	return ReportsPrefix(wave, ics) + "response_loads/"
}

// ResponseLoadMarkerKey is written once every output of a supplier file (by its
// SHA-256) is stored.
func ResponseLoadMarkerKey(wave, ics, sha string) string {
	return ResponseLoadMarkerPrefix(wave, ics) + sha + jsonExt
}

// ResponseLoadMarkerSHA reads the file digest back from a marker key.
func ResponseLoadMarkerSHA(key string) string { return strings.TrimSuffix(path.Base(key), jsonExt) }

// ReservedWaveIDs are the names the reports area, which is filed by wave, uses for what
// is filed otherwise (a release's weighting report, the linkage's reports, the profile
// definitions): a wave of that name would share their prefix, and its retention would
// delete them.
func ReservedWaveIDs() []string { return []string{"publication", "linkage", "profiles"} }

// ProfileDefinitionsPrefix holds the experience profiles an analyst defined at run
// time (ice profiles define): sessions, evidence, stakeholders and actions added to a
// built-in profile, or a new one. The deployment's, not one wave's: a profile is
// reported in every wave and ICS. Each definition is an object of its own, never
// overwritten: the latest of an id (by at) stands, earlier ones are the history.
func ProfileDefinitionsPrefix() string { return AreaReports.Prefix() + "profiles/" }

// ProfileDefinitionKey is one definition of profile id, made at at.
func ProfileDefinitionKey(id string, at time.Time) string {
	return ProfileDefinitionsPrefix() + id + "/" + at.UTC().Format("20060102T150405.000000000Z") + ".yaml"
}

// ProfileVerdictsPrefix holds the analysts' verdicts on one experience profile's
// expected-care statements for one ICS of a wave (#17): an analyst's judgement, no
// respondent's words, so a report, not free text.
func ProfileVerdictsPrefix(wave, ics, profile string) string {
	return ReportsPrefix(wave, ics) + "profile-verdicts/" + profile + "/"
}

// ProfileVerdictKey is one recorded verdict on one statement. Each record is an
// object of its own, never overwritten: the latest (by at) stands and the earlier
// ones are the history.
func ProfileVerdictKey(wave, ics, profile, expectation string, at time.Time) string {
	return ProfileVerdictsPrefix(wave, ics, profile) + expectation + "/" + at.UTC().Format("20060102T150405.000000000Z") + jsonExt
}

// RetentionLineageKey records, before the retention deletes them, the SHA-256, size
// and row count of the ICS's landed files (retention.Lineage).
func RetentionLineageKey(wave, ics string) string {
	return ReportsPrefix(wave, ics) + "retention-lineage" + jsonExt
}

// ---- audit -----------------------------------------------------------------------

// AuditPendingPrefix holds a wave's audit events not yet compacted ("" for no wave).
func AuditPendingPrefix(wave string) string {
	return AreaAudit.Prefix() + "pending/" + auditWaveDir(wave) + "/"
}

// AuditPendingKey is one attempt's pending audit events.
func AuditPendingKey(wave string, started time.Time, digest string) string {
	return fmt.Sprintf("%s%020d-%s.jsonl", AuditPendingPrefix(wave), started.UnixNano(), digest)
}

// ---- sim -------------------------------------------------------------------------

// DeathsRegisterPrefix holds the registers of deaths the dev stack's DBS simulator
// answers from, one per ICS (DeathsRegisterKey), in the simulated outside world's
// store. The simulator reads every one at each reply.
var DeathsRegisterPrefix = AreaSim.Prefix() + "dbs/deaths/"

// DeathsRegisterKey is one ICS's register of deaths: ice synth sample --store writes
// it, replacing that ICS's earlier one and leaving the other ICSs'.
func DeathsRegisterKey(ics string) string { return DeathsRegisterPrefix + ics + csvExt }

// LegacyDeathsRegisterKey is the one register of deaths for every ICS that earlier
// versions wrote (each sample replacing the last); the simulator still reads it.
var LegacyDeathsRegisterKey = AreaSim.Prefix() + "dbs/deaths" + csvExt
