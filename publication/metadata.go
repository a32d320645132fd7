package publication

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"icesurvey/codes"
	"icesurvey/disclosure"
	"icesurvey/weighting"
)

// Release statuses: a release is written as a draft and becomes published when
// approved (Approve).
const (
	ReleaseDraft     = "draft"
	ReleasePublished = "published"
)

// Metadata is a release's metadata file (metadata.json): what it is, how it was made
// and from what, so anyone can reproduce a figure and trace it to its inputs.
type Metadata struct {
	ReleaseID  string     `json:"release_id"`
	WaveID     string     `json:"wave_id"`
	Status     string     `json:"status"`
	ApprovedBy string     `json:"approved_by,omitempty"`
	ApprovedAt *time.Time `json:"approved_at,omitempty"`
	// LeftOut are the ICSs the approver left out (each unpublished in the release).
	LeftOut []string `json:"left_out,omitempty"`
	// Method points at the normative method and says how the release applies it.
	Method      []string `json:"method"`
	CodeVersion string   `json:"code_version"`
	Parameters  []Param  `json:"parameters"`
	// Marks explains each status mark.
	Marks          []Mark          `json:"marks"`
	ICSs           []ICSMetadata   `json:"icss"`
	Questionnaires []Questionnaire `json:"questionnaires"`
	Questions      []QuestionMeta  `json:"questions"`
	Withheld       Withheld        `json:"withheld"`
	Tables         []TableMeta     `json:"tables"`
}

// Mark is a status mark and what it means.
type Mark struct {
	Mark    string `json:"mark"`
	Meaning string `json:"meaning"`
}

// ICSMetadata is one ICS's weighting record as the release publishes it: status,
// sweeps, min and max of w/d and the collapsed levels (PUBLICATION.md §W), and no
// count. Its respondents, carers, frame and each level's counts are not published:
// they would give exactly what the suppression withholds (a base shown as <10, a
// count of 1 to 4, the deaths in the "not reached" group); they are in the release's
// internal weighting report (WeightingReport).
type ICSMetadata struct {
	ICS             string   `json:"ics"`
	Published       bool     `json:"published"`
	WeightingStatus string   `json:"weighting_status"`
	Reason          string   `json:"reason,omitempty"`
	Sweeps          int      `json:"sweeps"`
	BoundedSweeps   int      `json:"bounded_sweeps"`
	MarginError     *float64 `json:"margin_error,omitempty"`
	// MinWeightRatio and MaxWeightRatio are the smallest and largest w/d.
	MinWeightRatio *float64         `json:"min_weight_ratio,omitempty"`
	MaxWeightRatio *float64         `json:"max_weight_ratio,omitempty"`
	Levels         []LevelMetadata  `json:"levels,omitempty"`
	Collapses      []CollapseRecord `json:"collapses,omitempty"`
	Dropped        []DroppedLevel   `json:"dropped,omitempty"`
}

// LevelMetadata is one raking level after the collapse (its counts are in the
// internal WeightingReport).
type LevelMetadata struct {
	Variable string   `json:"variable"`
	Label    string   `json:"label"`
	Members  []string `json:"members"`
}

// CollapseRecord is one merge of M2, with the member lists of both sides and of the
// merged level (a label such as "75-84+85+" cannot be split back reliably). The
// respondents of the level merged (fewer than min_level_n, so withheld from every
// table) are in the internal WeightingReport only.
type CollapseRecord struct {
	Variable     string   `json:"variable"`
	Level        string   `json:"level"`
	LevelMembers []string `json:"level_members"`
	Into         string   `json:"into"`
	IntoMembers  []string `json:"into_members"`
	Label        string   `json:"label"`
	Members      []string `json:"members"`
}

// DroppedLevel is a level dropped by M2 (frame 0, no respondents).
type DroppedLevel struct {
	Variable string `json:"variable"`
	Level    string `json:"level"`
}

// Questionnaire is one questionnaire version the release's respondents answered.
type Questionnaire struct {
	Version        string `json:"version"`
	RespondentType string `json:"respondent_type"`
	// Digest is the SHA-256 of the definition file (questionnaire.Questionnaire.Digest).
	Digest string `json:"digest"`
	// BankQuestions are the bank questions published for this respondent type.
	BankQuestions []string `json:"bank_questions,omitempty"`
}

// QuestionMeta is one published question: its codes and the ICSs that asked it.
type QuestionMeta struct {
	RespondentType string   `json:"respondent_type"`
	ID             string   `json:"id"`
	Multi          bool     `json:"multi"`
	Local          bool     `json:"bank_question"`
	Options        []string `json:"options"`
	Positive       []string `json:"positive"`
	Excluded       []string `json:"excluded"`
	ICSs           []string `json:"icss"`
}

// TableLineage is one published table and the lake objects it was computed from, as
// the release's internal lineage (LineageReport) lists them.
type TableLineage struct {
	Table string `json:"table"`
	// ObjectsSHA256 is LineageSHA256 of Objects: what metadata.json publishes.
	ObjectsSHA256 string       `json:"objects_sha256"`
	Objects       []LakeObject `json:"objects"`
}

// TableMeta is one published table: its files, rows and lineage.
type TableMeta struct {
	Table string   `json:"table"`
	Files []string `json:"files"`
	Rows  int      `json:"rows"`
	// Lineage is the table's lineage by SHA-256, naming no lake object.
	Lineage LineageDigest `json:"lineage"`
}

// LineageDigest is what a release publishes of one table's lineage (PUBLICATION.md §P:
// the lake objects it was computed from, by SHA-256): the warehouse tables it read and
// one SHA-256 over the SHA-256s of every lake object of the wave loaded into them
// (LineageSHA256). It names no object and counts none, nor their rows: a late opt-out
// is one object per person, named by the survey record, and a DBS reply's object
// holds the deaths it found, which the response rates group into "not reached" so as
// not to publish them. The objects, with keys and rows, are in the release's internal
// lineage (LineageReport, in the lake), from which anyone checking the release against
// the lake recomputes the digest.
type LineageDigest struct {
	From          []string `json:"from"`
	ObjectsSHA256 string   `json:"objects_sha256"`
	// listed are the objects of a metadata.json written before the digest was, which
	// listed them (UnmarshalJSON); WriteStatus moves them to the internal lineage.
	listed []LakeObject
}

// UnmarshalJSON reads a table's lineage as Write writes it, or as a release written
// before listed it: every lake object, with its key and rows. Of such a list it keeps
// the digest, so the list is not published again when the release's status is
// written (WriteStatus, which keeps the list in the internal lineage).
func (d *LineageDigest) UnmarshalJSON(b []byte) error {
	if t := bytes.TrimSpace(b); len(t) > 0 && t[0] == '[' {
		var objects []LakeObject
		if err := json.Unmarshal(b, &objects); err != nil {
			return err
		}
		if objects == nil {
			objects = []LakeObject{}
		}
		*d = LineageDigest{From: slices.Clone(lineageTables), ObjectsSHA256: LineageSHA256(objects), listed: objects}
		return nil
	}
	type digest LineageDigest
	var x digest
	if err := json.Unmarshal(b, &x); err != nil {
		return err
	}
	*d = LineageDigest(x)
	return nil
}

// LineageSHA256 is the digest a release publishes of a table's lake objects: the
// SHA-256 (lowercase hex) of their SHA-256s, lowercase hex, sorted, each followed by a
// line feed. Over the warehouse's loaded_files it is
//
//	SELECT sha256(string_agg(lower(sha256) || chr(10), '' ORDER BY lower(sha256))) FROM loaded_files WHERE …
func LineageSHA256(objects []LakeObject) string {
	sums := make([]string, len(objects))
	for i, o := range objects {
		sums[i] = strings.ToLower(o.SHA256)
	}
	slices.Sort(sums)
	h := sha256.New()
	for _, s := range sums {
		h.Write([]byte(s + "\n"))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// LineageReport is a release's internal lineage: for each published table, every lake
// object it was computed from, by key, SHA-256 and rows, and the digest metadata.json
// publishes. It is not part of the release (see LineageDigest); Write keeps it in the
// lake (schemas.PublicationLineageKey), beside the objects it lists.
type LineageReport struct {
	ReleaseID string         `json:"release_id"`
	WaveID    string         `json:"wave_id"`
	Tables    []TableLineage `json:"tables"`
}

// marks are the status marks, as every file explains them.
func marks(p Params) []Mark {
	return []Mark{
		{"", "published"},
		{"L", fmt.Sprintf("published with caution: fewer than %d respondents in the base", p.Disclosure.CautionBase)},
		{"B", fmt.Sprintf("withheld: fewer than %d respondents in the base (shown as <%d)", p.Disclosure.MinBase, p.Disclosure.MinBase)},
		{"P", fmt.Sprintf("withheld: %s (primary suppression)", smallCounts(p.Disclosure.MinCount))},
		{"S", "withheld so that a withheld figure cannot be worked out from the others (secondary suppression)"},
	}
}

// method is the metadata's account of the method and of the release's choices.
func method(p Params) []string {
	cmp := "the same group in England excluding the ICS"
	if p.GroupComparison == CompareWholeRest {
		cmp = "all of England excluding the ICS"
	}
	england := "as percentages only (no counts, so no column totals)"
	if p.EnglandCounts {
		england = "with counts, which are the by-ICS tables' column totals (S4 applies)"
	}
	w, d := p.Weighting, p.Disclosure
	breakdown := "Patients are not broken down within ICSs (the release's breakdowns are none)."
	if len(p.Breakdowns) > 0 {
		var names []string
		for _, b := range p.Breakdowns {
			names = append(names, breakdownNames[b])
		}
		breakdown = "Within each ICS, patients are broken down by " + andList(names) + "; a group is compared with " + cmp + "."
	}
	return []string{
		fmt.Sprintf("The method is PUBLICATION.md (normative), with this release's parameters (every one is listed with the release): "+
			"weights by bounded raking of each ICS's respondents to its eligible sample frame by %s, in that order, each weight within %s to %s times the mean weight, "+
			"a level with fewer than %d respondents merged into a neighbour (M, W); %% positive over the question's base (E); "+
			"Wilson score intervals at %s %% confidence (z = %s) on the effective sample size (C); "+
			"comparison with England excluding the ICS, higher or lower when |z| > %s (D); "+
			"small-number suppression with an exact audit: a row with fewer than %d respondents in its base is withheld, one with fewer than %d is published with a caution mark, "+
			"and %s is withheld with whatever would let it be worked out (S).",
			strings.Join(w.Vars, ", "), formatParam(w.Lo), formatParam(w.Hi), w.MinLevelN,
			Percent(p.Estimate.Confidence), formatParam(p.Estimate.Z), formatParam(p.Estimate.Z),
			d.MinBase, d.CautionBase, smallCounts(d.MinCount)),
		"Respondents are patients with a completed questionnaire; age band, gender, ethnic group and eFI band come from the sample frame. The frame is the declared sample less outcomes 3 (deceased) and 5 (ineligible).",
		"Carers have no frame of their own: their results are unweighted (w = 1) and published by ICS and for England only, as a carer's frame characteristics would be the cared-for patient's.",
		breakdown,
		"Counts are published for each ICS's own rows; a demographic group's rows give weighted percentages only, since its counts add up to its ICS's published counts and could otherwise be worked back. England is published " + england + "; England's unweighted (carer) percentages are ratios of the by-ICS column totals, so those tables are checked with column totals and England's row is withheld when a total is. England's base is the sum of the ICS rows' bases, so a question with one ICS row withheld also withholds a second (S), the published ICS row with the smallest base: England less the published ICSs then gives only the two together.",
		"For a tick-all-that-apply question each option is its own yes/no measure; where the question has excluded codes, a scored option's share is of those in the base.",
		"Values in Parquet and the warehouse are unrounded; CSV and XLSX show percentages to one decimal place (Go strconv.FormatFloat(x, 'f', 1, 64)).",
		"Response rates come from the final outcome codes, grouped: completed (1); not reached (2 undelivered, 3 deceased, 5 ineligible), which the adjusted rate leaves out of its base; not responded (4 opted out or too ill, 6 no response). Grouped so that a small count of deaths or opt-outs is never a published cell.",
		"Lineage: each table's objects_sha256 is the SHA-256 of the SHA-256s (lowercase hex) of the lake objects of the wave loaded into the warehouse tables it names, sorted, each followed by a line feed. The objects are not named here, as a late opt-out is one object per person; they are listed in the release's internal lineage, from which the digest is recomputed.",
		"An ICS whose raking does not converge (rake_failed), that has no respondents, or that the parameters exclude is not published and is not pooled into England.",
		fmt.Sprintf("Reading the results: pct_positive is the weighted percentage of the base giving one of the positive answers (positive_answers); the base is the unweighted number of respondents who answered the question, less those whose answer is left out of the base (excluded_from_base); effective_base is the base's effective sample size, (Σw)²/Σw², smaller than the base as the weights vary; ci_lower and ci_upper are the %s%% Wilson score interval on the effective base.",
			strconv.FormatFloat(100*p.Estimate.Confidence, 'f', -1, 64)),
		fmt.Sprintf("vs_england_excluding_ics: higher or lower when the group's %% positive differs from that of %s by more than a two-sided z test at the %s%% level allows (each side's variance p(1−p) over its effective base), similar when it does not; blank for England, and when either figure is withheld or has fewer than %d respondents in its base, or both are 0%% or 100%%.",
			cmp, strconv.FormatFloat(100*p.Estimate.Confidence, 'f', -1, 64), p.Disclosure.MinBase),
		fmt.Sprintf("weighting: %s — raked to the ICS's frame, every weight already within %s to %s times the mean weight; %s — raked with every weight bounded to %s to %s times the mean weight; %s — no bounded weights meet the frame, so the unbounded raked weights are used (the ICS's reason is in the metadata); %s — England's patients, each ICS's with its own weights; %s — carers, every weight 1.",
			weighting.NotNeeded, formatParam(p.Weighting.Lo), formatParam(p.Weighting.Hi), weighting.Trimmed, formatParam(p.Weighting.Lo), formatParam(p.Weighting.Hi),
			weighting.InfeasibleUntrimmed, StatusPooled, StatusUnweighted),
	}
}

// breakdownNames are the breakdowns as the method note names them.
var breakdownNames = map[string]string{
	codes.BreakdownAgeBand:   "age band",
	codes.BreakdownGender:    "gender",
	codes.BreakdownEthnicity: "ethnic group (the NHS Data Dictionary's five top-level groups, and not stated for Z and 99)",
	codes.BreakdownEFIBand:   "eFI band",
}

// andList joins names as prose: "a", "a and b", "a, b and c".
func andList(names []string) string {
	if len(names) <= 1 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

// smallCounts names the counts primary suppression withholds (S2: 1 ≤ count < min_count).
func smallCounts(minCount int) string {
	switch {
	case minCount <= 1:
		return "no count (min_count is 1)"
	case minCount == 2:
		return "a count of 1"
	}
	return fmt.Sprintf("a count of 1 to %d", minCount-1)
}

// Percent formats a confidence level as a percentage, for people: 0.95 is "95",
// 0.9 "90", 0.975 "97.5" (to 12 significant digits, so 100·0.57 is not 56.99999999999999).
func Percent(confidence float64) string {
	return strconv.FormatFloat(100*confidence, 'g', 12, 64)
}

// formatParam formats a parameter's value exactly (the shortest representation that
// reads back to the same float64), as the parameter list does.
func formatParam(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }

func metadataOf(r *Results, releaseID string) *Metadata {
	m := &Metadata{ReleaseID: releaseID, WaveID: r.wave, Status: ReleaseDraft, Method: method(r.params),
		CodeVersion: r.codeVersion, Parameters: r.params.Metadata(), Marks: marks(r.params), Withheld: r.withheld}
	if m.Withheld.ByKind == nil {
		m.Withheld.ByKind = map[string]disclosure.Summary{}
	}
	for _, rep := range r.icss {
		im := ICSMetadata{ICS: rep.ICS, Published: rep.Published, WeightingStatus: rep.Status, Reason: rep.Reason}
		if w := rep.Weighting; w != nil {
			im.Sweeps, im.BoundedSweeps = w.Sweeps, w.BoundedSweeps
			im.MarginError = finitePtr(w.MarginError)
			if w.Weights != nil {
				im.MinWeightRatio, im.MaxWeightRatio = finitePtr(w.MinRatio), finitePtr(w.MaxRatio)
			}
			im.Levels, im.Collapses, im.Dropped = levelRecords(w, r.params.Weighting)
		}
		m.ICSs = append(m.ICSs, im)
	}
	m.Questionnaires = slices.Clone(r.defs)
	for _, q := range r.questions {
		qm := QuestionMeta{RespondentType: q.RespondentType, ID: q.ID, Multi: q.Multi, Local: q.Local,
			Positive: nonNil(q.Positive), Excluded: nonNil(q.Excluded), ICSs: q.ICSs}
		for _, o := range q.Options {
			qm.Options = append(qm.Options, o.Code)
		}
		m.Questions = append(m.Questions, qm)
	}
	return m
}

// WeightingReport is a release's internal record of the counts behind each ICS's
// weighting: respondents, carers, the frame, the base weight, and each raking level's
// frame and respondents, before and at each collapse. It is not part of the release —
// those counts would give what the suppression withholds (a base shown as <10, a
// count of 1 to 4, the deaths within "not reached") — and Write keeps it in reports/
// (schemas.PublicationWeightingKey), which only data engineers read: for the
// approver's summary (patients and carers by ICS) and to check the weighting.
type WeightingReport struct {
	ReleaseID string         `json:"release_id"`
	WaveID    string         `json:"wave_id"`
	ICSs      []ICSWeighting `json:"icss"`
}

// ICSWeighting is one ICS's counts in a WeightingReport.
type ICSWeighting struct {
	ICS        string           `json:"ics"`
	Patients   int              `json:"patients"`
	Carers     int              `json:"carers"`
	FrameTotal float64          `json:"frame_total"`
	BaseWeight *float64         `json:"base_weight,omitempty"`
	Levels     []LevelCounts    `json:"levels,omitempty"`
	Collapses  []CollapseCounts `json:"collapses,omitempty"`
}

// LevelCounts is one raking level's frame count and respondents, after the collapse.
type LevelCounts struct {
	Variable    string  `json:"variable"`
	Label       string  `json:"label"`
	Frame       float64 `json:"frame"`
	Respondents int     `json:"respondents"`
}

// CollapseCounts is the respondents of the level one collapse merged.
type CollapseCounts struct {
	Variable    string `json:"variable"`
	Level       string `json:"level"`
	Into        string `json:"into"`
	Respondents int    `json:"respondents"`
}

func weightingOf(r *Results, releaseID string) *WeightingReport {
	out := &WeightingReport{ReleaseID: releaseID, WaveID: r.wave, ICSs: []ICSWeighting{}}
	vars := r.params.Weighting.Vars
	for _, rep := range r.icss {
		iw := ICSWeighting{ICS: rep.ICS, Patients: rep.Patients, Carers: rep.Carers, FrameTotal: rep.FrameTotal}
		if w := rep.Weighting; w != nil {
			iw.BaseWeight = finitePtr(w.BaseWeight)
			for v, ls := range w.Levels {
				for _, l := range ls {
					iw.Levels = append(iw.Levels, LevelCounts{Variable: vars[v], Label: l.Label, Frame: l.Frame, Respondents: l.N})
				}
			}
			for _, c := range w.Collapses {
				iw.Collapses = append(iw.Collapses, CollapseCounts{Variable: c.Var, Level: c.Level, Into: c.Into, Respondents: c.N})
			}
		}
		out.ICSs = append(out.ICSs, iw)
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return slices.Clone(s)
}

func finitePtr(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

// levelRecords lists the collapsed levels with their members, every collapse with the
// members of both sides, and the dropped levels.
func levelRecords(w *weighting.Result, p weighting.Params) ([]LevelMetadata, []CollapseRecord, []DroppedLevel) {
	var levels []LevelMetadata
	for v, ls := range w.Levels {
		for _, l := range ls {
			levels = append(levels, LevelMetadata{Variable: p.Vars[v], Label: l.Label, Members: slices.Clone(l.Members)})
		}
	}
	// Replay the collapses to know each side's members at the time.
	members := map[[2]string][]string{}
	get := func(v, label string) []string {
		if m, ok := members[[2]string{v, label}]; ok {
			return m
		}
		return []string{label}
	}
	var collapses []CollapseRecord
	for _, c := range w.Collapses {
		a, b := c.Level, c.Into
		if c.Label != c.Level+"+"+c.Into {
			a, b = c.Into, c.Level
		}
		merged := append(slices.Clone(get(c.Var, a)), get(c.Var, b)...)
		collapses = append(collapses, CollapseRecord{Variable: c.Var, Level: c.Level, LevelMembers: slices.Clone(get(c.Var, c.Level)),
			Into: c.Into, IntoMembers: slices.Clone(get(c.Var, c.Into)), Label: c.Label, Members: merged})
		members[[2]string{c.Var, c.Label}] = merged
	}
	var dropped []DroppedLevel
	for _, d := range w.Dropped {
		dropped = append(dropped, DroppedLevel{Variable: d.Var, Level: d.Level})
	}
	return levels, collapses, dropped
}

// codeVersion is p.CodeVersion, or the running binary's module version and VCS
// revision.
func codeVersion(p Params) string {
	if p.CodeVersion != "" {
		return p.CodeVersion
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := bi.Main.Path + "@" + bi.Main.Version
	var rev, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	if rev != "" {
		v += " vcs.revision=" + rev
		if modified == "true" {
			v += " (modified)"
		}
	}
	return v
}

// Approve marks a draft release published by by at at: the sign-off. It refuses while
// any ICS's raking failed (rake_failed) unless that ICS is left out by leaveOut, and
// refuses to leave out an ICS that has figures in the release (build a new release
// with Params.Exclude instead). It changes meta only when it succeeds.
func Approve(meta *Metadata, by string, at time.Time, leaveOut []string) error {
	if meta == nil {
		return errors.New("publication: approve: no release metadata")
	}
	switch {
	case meta.Status == ReleasePublished:
		return fmt.Errorf("publication: release %s of wave %s is already published (by %s)", meta.ReleaseID, meta.WaveID, meta.ApprovedBy)
	case meta.Status != ReleaseDraft:
		return fmt.Errorf("publication: release %s has status %q, not %s", meta.ReleaseID, meta.Status, ReleaseDraft)
	}
	by = strings.TrimSpace(by)
	if by == "" {
		return fmt.Errorf("publication: approve release %s: name who approves it", meta.ReleaseID)
	}
	if at.IsZero() {
		return fmt.Errorf("publication: approve release %s: no approval time", meta.ReleaseID)
	}
	byICS := map[string]ICSMetadata{}
	for _, im := range meta.ICSs {
		byICS[im.ICS] = im
	}
	left := map[string]bool{}
	var errs []error
	for _, ics := range leaveOut {
		im, ok := byICS[ics]
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("ICS %s is not in wave %s", ics, meta.WaveID))
		case left[ics]:
			errs = append(errs, fmt.Errorf("ICS %s is left out twice", ics))
		case im.Published:
			errs = append(errs, fmt.Errorf("ICS %s has figures in this release: to leave it out, build a new release with it excluded", ics))
		}
		left[ics] = true
	}
	for _, im := range meta.ICSs {
		if im.WeightingStatus == string(weighting.RakeFailed) && !left[im.ICS] {
			errs = append(errs, fmt.Errorf("ICS %s: raking failed (%s); approve with it left out, or fix its sample and build a new release", im.ICS, im.Reason))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("publication: approval of release %s refused: %w", meta.ReleaseID, err)
	}
	meta.Status = ReleasePublished
	meta.ApprovedBy = by
	t := at.UTC()
	meta.ApprovedAt = &t
	meta.LeftOut = slices.Sorted(slices.Values(leaveOut))
	return nil
}

// Summary is what a release holds, for the workflow to report and the approver to
// read.
type Summary struct {
	ReleaseID        string            `json:"release_id"`
	WaveID           string            `json:"wave_id"`
	Status           string            `json:"status"`
	ICSsPublished    []string          `json:"icss_published"`
	ICSsNotPublished []ICSNotPublished `json:"icss_not_published"`
	// WeightingStatuses counts the ICSs by weighting status, in a fixed order.
	WeightingStatuses []StatusCount `json:"weighting_statuses"`
	// RakeFailed lists the ICSs an approval must leave out.
	RakeFailed []string `json:"rake_failed"`
	// Tables checked, and what was withheld: rows (B, S) and cells (P, S, in withheld
	// rows), % positive withheld, column totals withheld, England rows withheld.
	TablesChecked       int `json:"tables_checked"`
	RowsCaution         int `json:"rows_caution"`
	RowsWithheld        int `json:"rows_withheld"`
	CellsPrimary        int `json:"cells_primary"`
	CellsSecondary      int `json:"cells_secondary"`
	CellsInWithheldRows int `json:"cells_in_withheld_rows"`
	CellsWithheld       int `json:"cells_withheld"`
	PositiveWithheld    int `json:"positive_withheld"`
	TotalsWithheld      int `json:"totals_withheld"`
	EnglandRowsWithheld int `json:"england_rows_withheld"`
}

// ICSNotPublished is an ICS without figures, and why.
type ICSNotPublished struct {
	ICS    string `json:"ics"`
	Status string `json:"status"`
	Reason string `json:"reason"`
}

// StatusCount is how many ICSs have a weighting status.
type StatusCount struct {
	Status string `json:"status"`
	ICSs   int    `json:"icss"`
}

// statusOrder is the order statuses are reported in.
var statusOrder = []string{string(weighting.NotNeeded), string(weighting.Trimmed), string(weighting.InfeasibleUntrimmed),
	string(weighting.RakeFailed), StatusNoRespondents, StatusExcluded}

// Summary summarises the release.
func (m *Metadata) Summary() Summary {
	s := Summary{ReleaseID: m.ReleaseID, WaveID: m.WaveID, Status: m.Status, ICSsPublished: []string{}, ICSsNotPublished: []ICSNotPublished{},
		RakeFailed: []string{}}
	counts := map[string]int{}
	for _, im := range m.ICSs {
		counts[im.WeightingStatus]++
		if im.Published {
			s.ICSsPublished = append(s.ICSsPublished, im.ICS)
		} else {
			s.ICSsNotPublished = append(s.ICSsNotPublished, ICSNotPublished{im.ICS, im.WeightingStatus, im.Reason})
		}
		if im.WeightingStatus == string(weighting.RakeFailed) {
			s.RakeFailed = append(s.RakeFailed, im.ICS)
		}
	}
	for _, st := range statusOrder {
		if n := counts[st]; n > 0 {
			s.WeightingStatuses = append(s.WeightingStatuses, StatusCount{st, n})
		}
	}
	w := m.Withheld
	s.TablesChecked = w.Tables
	s.RowsCaution = w.Total.RowsCaution
	s.RowsWithheld = w.Total.RowsBase + w.Total.RowsSecondary
	s.CellsPrimary, s.CellsSecondary, s.CellsInWithheldRows = w.Total.CellsPrimary, w.Total.CellsSecondary, w.Total.CellsInWithheldRows
	s.CellsWithheld = w.CellsWithheld()
	s.PositiveWithheld, s.TotalsWithheld = w.Total.PositiveWithheld, w.Total.TotalsWithheld
	s.EnglandRowsWithheld = w.EnglandRowsWithheld
	return s
}

// Summary summarises the computed figures as a draft release would.
func (r *Results) Summary() Summary { return metadataOf(r, "").Summary() }
