package schemas

import (
	"strings"
	"time"
)

// A release of published comparable data (PUBLICATION.md §P) lives under
//
//	publish/{wave}/{release}/
//
// once approved; until then its draft lives under drafts/{wave}/{release}/ (DraftKey),
// which the public cannot read.
//
// and holds, for people, results.csv, distributions.csv, response_rates.csv and one
// workbook, results.xlsx (with a notes sheet); for machines, the same tables as
// Parquet in the layouts below, unrounded; metadata.json (every parameter, the
// weighting of each ICS, what was withheld, a digest of each table's lineage) and
// manifest.json (every file with its SHA-256). Only figures that passed disclosure control are ever written
// here, and only once a release is approved: the publish prefix is open to the public.
//
// The Parquet tables are also the warehouse's published_* tables, for the dashboard.

// Table names of a release's Parquet tables, as the warehouse names them.
const (
	TablePublishedResults       Table = "published_results"
	TablePublishedDistributions Table = "published_distributions"
	TablePublishedResponseRates Table = "published_response_rates"
	TableReleases               Table = "releases"
)

// PublishPrefix is the prefix of one approved release of one wave.
func PublishPrefix(wave, release string) string { return AreaPublish.WavePrefix(wave) + release + "/" }

// DraftPrefix is the prefix of one release's draft, drafts/{wave}/{release}/: the
// same files under the same names as the release will have under PublishPrefix once
// approved, in an area the public cannot read. Approval copies them to PublishPrefix;
// a draft refused or superseded never leaves it.
func DraftPrefix(wave, release string) string { return AreaDrafts.WavePrefix(wave) + release + "/" }

// DraftKey is where a release's draft keeps the file that publishKey (a Publish*Key)
// names once the release is approved.
func DraftKey(publishKey string) string {
	rest, ok := strings.CutPrefix(publishKey, AreaPublish.Prefix())
	if !ok {
		panic("schemas: DraftKey of " + publishKey + ", not a key under " + AreaPublish.Prefix())
	}
	return AreaDrafts.Prefix() + rest
}

// PublishedKey is where the file a release's draft keeps at draftKey goes when the
// release is approved (the inverse of DraftKey); a key outside drafts/ is returned as
// it is.
func PublishedKey(draftKey string) string {
	if rest, ok := strings.CutPrefix(draftKey, AreaDrafts.Prefix()); ok {
		return AreaPublish.Prefix() + rest
	}
	return draftKey
}

// PublishResultsParquetKey is the release's % positive figures, for machines.
func PublishResultsParquetKey(wave, release string) string {
	return PublishPrefix(wave, release) + "results.parquet"
}

// PublishDistributionsParquetKey is the release's response distributions, for machines.
func PublishDistributionsParquetKey(wave, release string) string {
	return PublishPrefix(wave, release) + "distributions.parquet"
}

// PublishResponseRatesParquetKey is the release's response rates, for machines.
func PublishResponseRatesParquetKey(wave, release string) string {
	return PublishPrefix(wave, release) + "response_rates.parquet"
}

// PublishReleaseParquetKey is the release's one-row record (status, approval), for
// the warehouse's releases table.
func PublishReleaseParquetKey(wave, release string) string {
	return PublishPrefix(wave, release) + "release.parquet"
}

// PublishResultsCSVKey is the % positive figures for people.
func PublishResultsCSVKey(wave, release string) string {
	return PublishPrefix(wave, release) + "results.csv"
}

// PublishDistributionsCSVKey is the response distributions for people.
func PublishDistributionsCSVKey(wave, release string) string {
	return PublishPrefix(wave, release) + "distributions.csv"
}

// PublishResponseRatesCSVKey is the response rates for people.
func PublishResponseRatesCSVKey(wave, release string) string {
	return PublishPrefix(wave, release) + "response_rates.csv"
}

// PublishWorkbookKey is the workbook for people: notes, results, distributions and
// response rates, one sheet each.
func PublishWorkbookKey(wave, release string) string {
	return PublishPrefix(wave, release) + "results.xlsx"
}

// PublishMetadataKey is the release's metadata (JSON).
func PublishMetadataKey(wave, release string) string {
	return PublishPrefix(wave, release) + "metadata.json"
}

// PublicationWeightingKey is a release's internal weighting report: the respondents,
// carers and frame counts behind each ICS's weighting, which the release does not
// publish (they would give what the suppression withholds). It is in reports/, not
// publish/.
func PublicationWeightingKey(wave, release string) string {
	return AreaReports.Prefix() + "publication/" + wave + "/" + release + "/weighting.json"
}

// PublicationLineageKey is a release's internal lineage: every lake object each of its
// tables was computed from, by key, SHA-256 and rows, from which the digest that
// metadata.json publishes per table is recomputed. It is not part of the release: a
// late opt-out is one object per person, named by the survey record
// (OptOutKey), and a DBS reply's object holds its deaths, so the list names who opted
// out and counts the deaths per reply. Nor is it in reports/, which holds nothing about
// one person and is read by data engineers: it is in the lake, beside the objects it
// lists (analysts, who see those keys and the warehouse's loaded_files already), kept.
// The lake's tables are folders of Parquet objects; this JSON lies outside them.
func PublicationLineageKey(wave, release string) string {
	return AreaLake.Prefix() + "publication_lineage/wave=" + wave + "/release=" + release + "/lineage.json"
}

// PublishManifestKey lists every other file of the release with its SHA-256 (JSON).
func PublishManifestKey(wave, release string) string {
	return PublishPrefix(wave, release) + "manifest.json"
}

// The figures' columns are declared unique: their values (weighted percentages,
// intervals, effective bases) nearly never repeat, so a Parquet dictionary would hold
// each once and cost a hash per value.

// PublishedResult is one % positive figure of one group (PUBLICATION.md §P): a
// question's (or, for a tick-all-that-apply question, one option's) result in an ICS,
// in a demographic group of an ICS, or in England. A figure withheld by disclosure
// control is NULL and status says why; percentages are 0–100 and unrounded.
type PublishedResult struct {
	ReleaseID       string   `col:"release_id,key"`
	WaveID          string   `col:"wave_id,key"`
	GeographyLevel  string   `col:"geography_level,key,doc=ics or england"`
	ICS             string   `col:"ics,key,doc=ICB ODS code; empty for England"`
	GroupVariable   string   `col:"group_variable,key,doc=all or age_band or gender or ethnicity or efi_band"`
	GroupLevel      string   `col:"group_level,key,doc=all or the level of group_variable"`
	RespondentType  string   `col:"respondent_type,key,doc=patient (weighted) or carer (unweighted)"`
	QuestionID      string   `col:"question_id,key"`
	PositiveCodes   string   `col:"positive_codes,key,doc=the codes counted positive joined by ; (one option of a multi-choice question)"`
	ExcludedCodes   string   `col:"excluded_codes,doc=the codes left out of the base joined by ;"`
	BaseUnweighted  *int64   `col:"base_unweighted,doc=respondents in the base; NULL when withheld"`
	BaseWeighted    *float64 `col:"base_weighted,unique,doc=sum of the weights in the base"`
	PctPositive     *float64 `col:"pct_positive,unique,doc=weighted % positive (0-100)"`
	CILower         *float64 `col:"ci_lower,unique,doc=Wilson interval on n_eff (0-100)"`
	CIUpper         *float64 `col:"ci_upper,unique"`
	NEff            *float64 `col:"n_eff,unique,doc=Kish effective sample size"`
	Deff            *float64 `col:"deff,unique,doc=design effect"`
	VsEngland       string   `col:"vs_england,doc=higher or lower or similar than England excluding the ICS; empty when not compared"`
	Status          string   `col:"status,doc=empty or L (caution) or B (base too small) or P (primary) or S (secondary)"`
	WeightingStatus string   `col:"weighting_status,doc=the ICS's weighting status; pooled for England; unweighted for carers"`
}

// PublishedResultLayout is the layout of results.parquet and published_results.
func PublishedResultLayout() *Layout { return LayoutOf[PublishedResult](string(TablePublishedResults)) }

// PublishedDistribution is one option's share of one question in one group (E4): the
// unweighted count (ICS rows only) and the weighted % of everyone who answered.
type PublishedDistribution struct {
	ReleaseID       string   `col:"release_id,key"`
	WaveID          string   `col:"wave_id,key"`
	GeographyLevel  string   `col:"geography_level,key,doc=ics or england"`
	ICS             string   `col:"ics,key,doc=ICB ODS code; empty for England"`
	GroupVariable   string   `col:"group_variable,key"`
	GroupLevel      string   `col:"group_level,key"`
	RespondentType  string   `col:"respondent_type,key"`
	QuestionID      string   `col:"question_id,key"`
	OptionCode      string   `col:"option_code,key"`
	CountUnweighted *int64   `col:"count_unweighted,doc=NULL when withheld or not published for this kind of row"`
	PctWeighted     *float64 `col:"pct_weighted,unique,doc=weighted % of those who answered (0-100)"`
	Status          string   `col:"status,doc=empty or L or B or P or S"`
	WeightingStatus string   `col:"weighting_status"`
}

// PublishedDistributionLayout is the layout of distributions.parquet and
// published_distributions.
func PublishedDistributionLayout() *Layout {
	return LayoutOf[PublishedDistribution](string(TablePublishedDistributions))
}

// PublishedResponseRate is one ICS's (or England's) response rate from the final
// outcome codes (SPEC §6). The sampled people are counted in three groups, each with
// its disclosure status: completed (1); not reached (2 undelivered, 3 deceased, 5
// ineligible: the adjusted rate leaves them out of its base); and not responded (4
// opted out or too ill, 6 no response). The codes are grouped so that a count of deaths
// or opt-outs below the small-number threshold is never a published cell.
type PublishedResponseRate struct {
	ReleaseID            string   `col:"release_id,key"`
	WaveID               string   `col:"wave_id,key"`
	GeographyLevel       string   `col:"geography_level,key,doc=ics or england"`
	ICS                  string   `col:"ics,key,doc=ICB ODS code; empty for England"`
	Sampled              *int64   `col:"sampled,doc=everyone in the declared sample"`
	Completed            *int64   `col:"completed,doc=outcome 1"`
	CompletedStatus      string   `col:"completed_status"`
	NotReached           *int64   `col:"not_reached,doc=outcomes 2 3 and 5 (undelivered or deceased or ineligible)"`
	NotReachedStatus     string   `col:"not_reached_status"`
	NotResponded         *int64   `col:"not_responded,doc=outcomes 4 and 6 (opted out or too ill or no response)"`
	NotRespondedStatus   string   `col:"not_responded_status"`
	ResponseRate         *float64 `col:"response_rate,doc=completed / sampled (0-100)"`
	AdjustedResponseRate *float64 `col:"adjusted_response_rate,doc=completed / (sampled less not_reached) (0-100)"`
	Status               string   `col:"status,doc=the row's status"`
}

// PublishedResponseRateLayout is the layout of response_rates.parquet and
// published_response_rates.
func PublishedResponseRateLayout() *Layout {
	return LayoutOf[PublishedResponseRate](string(TablePublishedResponseRates))
}

// PublishedRelease is a release's record: its status in the lifecycle draft →
// published, who approved it and when, and what it holds.
type PublishedRelease struct {
	ReleaseID        string     `col:"release_id,key"`
	WaveID           string     `col:"wave_id,key"`
	Status           string     `col:"status,doc=draft or published"`
	ApprovedBy       string     `col:"approved_by"`
	ApprovedAt       *time.Time `col:"approved_at"`
	LeftOut          string     `col:"left_out,doc=ICSs the approver left out joined by ;"`
	CodeVersion      string     `col:"code_version"`
	ICSsPublished    string     `col:"icss_published,doc=ICSs with figures joined by ;"`
	ICSsNotPublished string     `col:"icss_not_published,doc=ICSs without figures joined by ;"`
	ResultRows       int64      `col:"result_rows"`
	DistributionRows int64      `col:"distribution_rows"`
	CellsWithheld    int64      `col:"cells_withheld,doc=counts withheld in published rows and in withheld rows"`
	MetadataSHA256   string     `col:"metadata_sha256"`
	// Parameters were added after releases were written: NULL for a release written
	// before (its metadata.json lists them).
	Parameters *string `col:"parameters,doc=every parameter of the release and its value as metadata.json lists them: a JSON array of objects with name and value; NULL for a release written before the column"`
}

// PublishedReleaseLayout is the layout of release.parquet and the releases table.
func PublishedReleaseLayout() *Layout { return LayoutOf[PublishedRelease](string(TableReleases)) }
