package schemas

import (
	"path"
	"strconv"
	"strings"
	"time"
)

// The local index's theme coding (issue #17). Only codes leave the free-text area:
//
//	free-text/{wave}/{ics}/themes/...   redacted comments with the machine's
//	                                               scores, the model, .qdpx exports, and
//	                                               profiles/: profile reports (HTML, PDF), which
//	                                               quote chosen redacted text (named readers)
//	lake/theme_decisions/wave=/ics=/batch-*.parquet people's coding decisions, one object per batch
//	lake/response_themes/wave=/ics=/...            every ICS's codes: the machine's suggestions and
//	                                               people's decisions, rewritten whole at each coding run

// Lake and warehouse tables of the theme coding.
const (
	LakeResponseThemes  LakeTable = "response_themes" // ResponseTheme
	LakeThemeDecisions  LakeTable = "theme_decisions" // ThemeDecision (lake only)
	TableResponseThemes Table     = "response_themes"
)

func init() { warehouseOf[LakeResponseThemes] = TableResponseThemes }

// Who coded a response theme: the machine, or a person named by their user id.
const (
	CodedByModel = "model"
	SourceModel  = "model"
	SourceCoder  = "coder"
)

// ResponseTheme is one theme of one free-text answer, as the machine suggested or a
// person coded it. It holds codes and ids only, never text.
type ResponseTheme struct {
	Wave            string    `col:"wave,key"`
	ICS             string    `col:"ics,key"`
	ResponseID      string    `col:"response_id,key"`
	QuestionID      string    `col:"question_id,key"`
	Theme           string    `col:"theme,key,doc=codebook theme id"`
	CodedBy         string    `col:"coded_by,key,doc=model or the coder's user id"`
	Source          string    `col:"source,doc=model or coder"`
	Polarity        string    `col:"polarity,doc=positive or negative"`
	Confidence      *float64  `col:"confidence,unique,doc=the model's probability; NULL for a person"`
	Final           bool      `col:"final,doc=the code that stands: the first coder's latest decision or else the model's suggestion"`
	RespondentType  string    `col:"respondent_type"`
	CodebookVersion string    `col:"codebook_version"`
	CodedAt         time.Time `col:"coded_at"`
}

// ResponseThemeLayout is the layout of response_themes.
func ResponseThemeLayout() *Layout { return LayoutOf[ResponseTheme](string(TableResponseThemes)) }

// ThemeDecision is one person's decision on one answer's themes, as a batch of the
// coding workflow received it. Themes is the short form of the labelled files
// ("CON-;BUR+", or "none" for a confirmed answer without a theme).
type ThemeDecision struct {
	BatchID         string    `col:"batch_id,key"`
	ResponseID      string    `col:"response_id,key"`
	QuestionID      string    `col:"question_id,key"`
	Coder           string    `col:"coder"`
	Themes          string    `col:"themes"`
	CodebookVersion string    `col:"codebook_version"`
	DecidedAt       time.Time `col:"decided_at"`
}

// ThemeDecisionLayout is the layout of theme_decisions.
func ThemeDecisionLayout() *Layout { return LayoutOf[ThemeDecision](string(LakeThemeDecisions)) }

// RedactedComment is one free-text answer after redaction, with the machine's scores
// (JSON) and where it stands in the coding queue. Restricted: it holds text.
type RedactedComment struct {
	ResponseID     string `col:"response_id,key"`
	QuestionID     string `col:"question_id,key"`
	RespondentType string `col:"respondent_type"`
	Text           string `col:"text,unique,doc=redacted"`
	Redactions     int64  `col:"redactions"`
	Scores         string `col:"scores,unique,doc=JSON of themes.ThemeScore"`
	QueuePosition  int64  `col:"queue_position"`
	Evaluation     bool   `col:"evaluation,doc=in the evaluation slice: shown without suggestions and never trains"`
	DoubleCoded    bool   `col:"double_coded"`
}

// RedactedCommentLayout is the layout of the redacted comments.
func RedactedCommentLayout() *Layout { return LayoutOf[RedactedComment]("redacted_comments") }

// ThemesRestrictedPrefix is where the theme coding keeps what holds text, inside the
// free-text area (kept at retention, read by named readers only).
func ThemesRestrictedPrefix(wave, ics string) string { return FreeTextRoot(wave, ics) + "themes/" }

// RedactedCommentsKey is the ICS's redacted comments with their scores.
func RedactedCommentsKey(wave, ics string) string {
	return ThemesRestrictedPrefix(wave, ics) + "redacted" + parquetExt
}

// ThemeModelKey is the model that scored the ICS's comments (it holds feature strings
// from training text, so it stays restricted).
func ThemeModelKey(wave, ics string) string {
	return ThemesRestrictedPrefix(wave, ics) + "model" + jsonExt
}

// ThemesQDPXKey is the REFI-QDA export of one ICS's coded comments (it carries
// redacted text, so it stays in the free-text area until a named reader downloads it).
func ThemesQDPXKey(wave, ics string) string {
	return ThemesRestrictedPrefix(wave, ics) + "project.qdpx"
}

// IsFreeTextLoadKey reports whether a key under FreeTextRoot is a daily load's free
// text (not the theme coding's own objects).
func IsFreeTextLoadKey(wave, ics, key string) bool {
	rest, ok := strings.CutPrefix(key, FreeTextRoot(wave, ics))
	return ok && IsParquet(key) && strings.HasPrefix(rest, "load_date=")
}

// ThemeDecisionsKey is one batch of coding decisions.
func ThemeDecisionsKey(wave, ics, batchID string) string {
	return LakePartition(LakeThemeDecisions, wave, ics) + "batch-" + batchID + parquetExt
}

// ResponseThemesKey is the ICS's response themes as the latest coding run wrote them:
// each run rewrites the whole ICS under this one key, and the warehouse replaces the
// ICS's rows with them.
func ResponseThemesKey(wave, ics string) string {
	return LakePartition(LakeResponseThemes, wave, ics) + responseThemesName
}

// responseThemesName is the name of an ICS's one response themes object.
const responseThemesName = "response_themes" + parquetExt

// Earlier, each coding run wrote an object of its own, run-{n}.parquet, numbered from 1
// by each coding workflow. A reload, loading every object of the ICS in key order, then
// ended with run-9's rows after run-12's; and a coding started again rewrote run-1
// while an earlier coding's run-12 stayed. A coding run now deletes them
// (localindex.Code), and a reload leaves out those that do not stand
// (StaleResponseThemes) where they remain.
const legacyResponseThemesPrefix = "run-"

// LegacyResponseThemesRun reads the run number of one of those earlier run-{n}.parquet
// objects of an ICS's response themes; ok is false for any other key.
func LegacyResponseThemesRun(key string) (run int, ok bool) {
	name := key[strings.LastIndexByte(key, '/')+1:]
	digits, found := strings.CutPrefix(name, legacyResponseThemesPrefix)
	if !found || !strings.HasPrefix(key, AreaLake.Prefix()+string(LakeResponseThemes)+"/") {
		return 0, false
	}
	if digits, found = strings.CutSuffix(digits, parquetExt); !found {
		return 0, false
	}
	n, err := strconv.Atoi(digits)
	if err != nil || n < 1 || strconv.Itoa(n) != digits {
		return 0, false
	}
	return n, true
}

// StaleResponseThemes gives, of the keys of one ICS's response themes objects, those
// whose rows do not stand: every earlier run-{n} object when the ICS has its current
// object (ResponseThemesKey); else each of them but the highest-numbered (the latest
// run of the latest coding, unless a coding was started again and stopped before it
// passed the earlier one's number: the objects do not tell).
func StaleResponseThemes(keys []string) map[string]bool {
	current, latest, latestRun := false, "", 0
	for _, k := range keys {
		if path.Base(k) == responseThemesName {
			current = true
		}
		if n, ok := LegacyResponseThemesRun(k); ok && n > latestRun {
			latest, latestRun = k, n
		}
	}
	stale := map[string]bool{}
	for _, k := range keys {
		if _, ok := LegacyResponseThemesRun(k); ok && (current || k != latest) {
			stale[k] = true
		}
	}
	return stale
}

// ProfileReportPrefix is where the profile reports of one ICS go: the free-text area,
// since a report quotes the redacted free text a coder chose (like the .qdpx export,
// it leaves only when a named reader takes it, checked and audited).
func ProfileReportPrefix(wave, ics string) string {
	return ThemesRestrictedPrefix(wave, ics) + "profiles/"
}

// ProfileReportKey is one profile's report; ext is ".html" or ".pdf".
func ProfileReportKey(wave, ics, profile, ext string) string {
	return ProfileReportPrefix(wave, ics) + profile + ext
}
