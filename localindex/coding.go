package localindex

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"icesurvey/fault"
	"icesurvey/freetext"
	"icesurvey/lake"
	"icesurvey/schemas"
	"icesurvey/store"
	"icesurvey/themes"
)

// UnitID names one free-text answer as a coding unit: a response has one answer per
// free-text question.
func UnitID(responseID, questionID string) string { return responseID + "/" + questionID }

// Comment is one redacted free-text answer.
type Comment struct {
	ResponseID, QuestionID, RespondentType string
	Text                                   string // redacted
	Redactions                             int
}

// Unit is the comment's coding unit id.
func (c Comment) Unit() string { return UnitID(c.ResponseID, c.QuestionID) }

// ReadComments reads every daily load's free text of one ICS and redacts it, in
// response and question order.
func ReadComments(ctx context.Context, st store.Store, wave, ics string) ([]Comment, error) {
	infos, err := st.List(ctx, schemas.FreeTextRoot(wave, ics))
	if err != nil {
		return nil, fmt.Errorf("list free text of %s %s: %w", wave, ics, err)
	}
	r := freetext.Default()
	var out []Comment
	for _, inf := range infos {
		if !schemas.IsFreeTextLoadKey(wave, ics, inf.Key) {
			continue
		}
		err := lake.Scan(ctx, st, inf.Key, schemas.FreeTextLayout(), func(row *schemas.FreeTextRow) error {
			red := r.Redact(row.Text)
			out = append(out, Comment{ResponseID: row.ResponseID, QuestionID: row.QuestionID, RespondentType: row.RespondentType,
				Text: red.Text, Redactions: len(red.Spans)})
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("read free text %s: %w", inf.Key, err)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Unit() < out[j].Unit() })
	return out, nil
}

// Decision is one coder's decision on one comment.
type Decision struct {
	ResponseID string             `json:"response_id"`
	QuestionID string             `json:"question_id"`
	Themes     []themes.ThemeCode `json:"themes"` // empty: the comment has no theme
}

// Batch is a batch of one coder's decisions.
type Batch struct {
	ID        string     `json:"id"`
	Coder     string     `json:"coder"`
	DecidedAt time.Time  `json:"decided_at"`
	Decisions []Decision `json:"decisions"`
}

// Validate checks a batch against a codebook: an id that can name its lake object (no
// "/", "\" or ".."), a named coder, at least one decision, each naming its response and
// question, with themes of the codebook coded once each with a polarity. Errors are
// fault.BadInput and name the decision and field.
func (b Batch) Validate(cb *themes.Codebook) error {
	if strings.ContainsAny(b.ID, "/\\") || strings.Contains(b.ID, "..") {
		return fault.Errorf(fault.BadInput, `batch: id: %q cannot name a batch (no "/", "\" or "..")`, b.ID)
	}
	if strings.TrimSpace(b.Coder) == "" {
		return fault.New(fault.BadInput, "batch: coder: a batch of decisions must name its coder")
	}
	if len(b.Decisions) == 0 {
		return fault.New(fault.BadInput, "batch: decisions: empty")
	}
	seen := map[string]int{}
	for i, d := range b.Decisions {
		if d.ResponseID == "" || d.QuestionID == "" {
			return fault.Errorf(fault.BadInput, "batch: decisions[%d]: response_id and question_id are required", i)
		}
		u := UnitID(d.ResponseID, d.QuestionID)
		if prev, dup := seen[u]; dup {
			return fault.Errorf(fault.BadInput, "batch: decisions[%d]: %s decided twice (also decisions[%d])", i, u, prev)
		}
		seen[u] = i
		themeSeen := map[string]bool{}
		for j, c := range d.Themes {
			if _, ok := cb.Theme(c.Theme); !ok {
				return fault.Errorf(fault.BadInput, "batch: decisions[%d].themes[%d]: %q is not a theme of codebook %s", i, j, c.Theme, cb.Version)
			}
			if c.Polarity != themes.Positive && c.Polarity != themes.Negative {
				return fault.Errorf(fault.BadInput, "batch: decisions[%d].themes[%d]: polarity %q, want positive or negative", i, j, c.Polarity)
			}
			if themeSeen[c.Theme] {
				return fault.Errorf(fault.BadInput, "batch: decisions[%d].themes[%d]: %s coded twice", i, j, c.Theme)
			}
			themeSeen[c.Theme] = true
		}
	}
	return nil
}

// Labels writes themes in the short form of the labelled files ("CON-;BUR+", "none").
func Labels(cb *themes.Codebook, codes []themes.ThemeCode) string {
	if len(codes) == 0 {
		return "none"
	}
	parts := make([]string, 0, len(codes))
	for _, c := range codes {
		t, _ := cb.Theme(c.Theme)
		parts = append(parts, t.Code+c.Polarity.Sign())
	}
	return strings.Join(parts, ";")
}

// RecordDecisions writes a batch to the lake after checking it against the codebook
// and against the ICS's comments (a decision on a comment that is not there is
// BadInput). Writing the same batch again writes the same object.
func RecordDecisions(ctx context.Context, st store.Store, wave, ics string, cb *themes.Codebook, b Batch) (string, error) {
	if err := b.Validate(cb); err != nil {
		return "", err
	}
	known, err := CodedAnswers(ctx, st, wave, ics)
	if err != nil {
		return "", fault.Wrap(fault.NotReady, err)
	}
	rows := make([]schemas.ThemeDecision, 0, len(b.Decisions))
	for i, d := range b.Decisions {
		if !known[d.ResponseID][d.QuestionID] {
			return "", fault.Errorf(fault.BadInput, "batch %s: decisions[%d]: no free-text answer %s in %s %s", b.ID, i, UnitID(d.ResponseID, d.QuestionID), wave, ics)
		}
		rows = append(rows, schemas.ThemeDecision{BatchID: b.ID, ResponseID: d.ResponseID, QuestionID: d.QuestionID, Coder: b.Coder,
			Themes: Labels(cb, d.Themes), CodebookVersion: cb.Version, DecidedAt: b.DecidedAt.UTC()})
	}
	key := schemas.ThemeDecisionsKey(wave, ics, b.ID)
	if err := lake.PutRows(ctx, st, key, schemas.ThemeDecisionLayout(), rows); err != nil {
		return "", fmt.Errorf("write decisions batch %s: %w", b.ID, err)
	}
	return key, nil
}

// CodedAnswers is the free-text answers the ICS's coding run queued, by their ids
// alone (response id → its question ids; no text is read into it): the comments a
// decision may name. RecordDecisions checks a batch against it, and ice themes code
// each line of a decisions file before anything is audited.
func CodedAnswers(ctx context.Context, st store.Store, wave, ics string) (map[string]map[string]bool, error) {
	out := map[string]map[string]bool{}
	err := lake.Scan(ctx, st, schemas.RedactedCommentsKey(wave, ics), schemas.RedactedCommentLayout(), func(r *schemas.RedactedComment) error {
		if out[r.ResponseID] == nil {
			out[r.ResponseID] = map[string]bool{}
		}
		out[r.ResponseID][r.QuestionID] = true
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("the comments of %s %s have not been coded yet: %w", wave, ics, err)
	}
	return out, nil
}

// PersonCoding is one coder's latest decision on one unit.
type PersonCoding struct {
	Unit      string
	Coder     string
	Themes    []themes.ThemeCode
	DecidedAt time.Time
	First     bool // the unit's first coder (whose decision stands)
}

// ReadDecisions reads every batch of an ICS and keeps each coder's latest decision per
// unit; the coder who decided a unit first is its first coder.
func ReadDecisions(ctx context.Context, st store.Store, wave, ics string, cb *themes.Codebook) ([]PersonCoding, error) {
	infos, err := st.List(ctx, schemas.LakePartition(schemas.LakeThemeDecisions, wave, ics))
	if err != nil {
		return nil, err
	}
	var rows []schemas.ThemeDecision
	for _, inf := range infos {
		if !schemas.IsParquet(inf.Key) {
			continue
		}
		got, err := lake.GetRows[schemas.ThemeDecision](ctx, st, inf.Key, schemas.ThemeDecisionLayout())
		if err != nil {
			return nil, fmt.Errorf("read decisions %s: %w", inf.Key, err)
		}
		for i := range got {
			if _, err := cb.ParseLabels(got[i].Themes); err != nil {
				return nil, fmt.Errorf("%s row %d field themes: %w", inf.Key, i+1, err)
			}
		}
		rows = append(rows, got...)
	}
	sort.SliceStable(rows, func(i, j int) bool {
		if !rows[i].DecidedAt.Equal(rows[j].DecidedAt) {
			return rows[i].DecidedAt.Before(rows[j].DecidedAt)
		}
		return rows[i].BatchID < rows[j].BatchID
	})
	latest := map[[2]string]int{}
	first := map[string]string{}
	var out []PersonCoding
	for _, r := range rows {
		u := UnitID(r.ResponseID, r.QuestionID)
		codes, _ := cb.ParseLabels(r.Themes)
		if _, ok := first[u]; !ok {
			first[u] = r.Coder
		}
		pc := PersonCoding{Unit: u, Coder: r.Coder, Themes: codes, DecidedAt: r.DecidedAt, First: first[u] == r.Coder}
		if i, ok := latest[[2]string{u, r.Coder}]; ok {
			out[i] = pc
			continue
		}
		latest[[2]string{u, r.Coder}] = len(out)
		out = append(out, pc)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Unit < out[j].Unit })
	return out, nil
}

// CodeInput asks for one coding run of one ICS.
type CodeInput struct {
	Wave, ICS string
	At        time.Time // when the run's suggestions are dated
}

// CodeResult is what a coding run did: counts and keys only.
type CodeResult struct {
	Comments          int            `json:"comments"`
	Redactions        int            `json:"redactions"`
	Suggested         int            `json:"suggested"` // comments with at least one suggested theme
	CodedByPeople     int            `json:"coded_by_people"`
	Decisions         int            `json:"decisions"`
	Coders            []string       `json:"coders,omitempty"`
	FinalByTheme      map[string]int `json:"final_by_theme"`
	RedactedKey       string         `json:"redacted_key"`
	ModelKey          string         `json:"model_key"`
	ResponseThemesKey string         `json:"response_themes_key"`
	CodebookVersion   string         `json:"codebook_version"`
}

// Code runs the machine over one ICS's free text: redact, train on the labelled set
// and the wave's confirmed codings (never its evaluation slice), score every comment,
// order the coding queue, and write the redacted comments with their scores and the
// model (free-text area) and the ICS's response_themes (lake).
func Code(ctx context.Context, st store.Store, in CodeInput) (CodeResult, error) {
	cb := themes.Default()
	comments, err := ReadComments(ctx, st, in.Wave, in.ICS)
	if err != nil {
		return CodeResult{}, err
	}
	people, err := ReadDecisions(ctx, st, in.Wave, in.ICS, cb)
	if err != nil {
		return CodeResult{}, err
	}
	text := make(map[string]Comment, len(comments))
	for _, c := range comments {
		text[c.Unit()] = c
	}
	var confirmed []themes.Coding
	coders := map[string]bool{}
	codedUnits := map[string]bool{}
	for _, p := range people {
		coders[p.Coder] = true
		codedUnits[p.Unit] = true
		if c, ok := text[p.Unit]; ok && p.First {
			confirmed = append(confirmed, themes.Coding{ResponseID: p.Unit, Text: c.Text, Themes: p.Themes, Coder: p.Coder, CodebookVersion: cb.Version})
		}
	}
	base, err := themes.TrainBaseline(confirmed)
	if err != nil {
		return CodeResult{}, err
	}
	res := CodeResult{Comments: len(comments), CodedByPeople: len(codedUnits), Decisions: len(people), FinalByTheme: map[string]int{},
		RedactedKey: schemas.RedactedCommentsKey(in.Wave, in.ICS), ModelKey: schemas.ThemeModelKey(in.Wave, in.ICS),
		ResponseThemesKey: schemas.ResponseThemesKey(in.Wave, in.ICS), CodebookVersion: cb.Version}
	for c := range coders {
		res.Coders = append(res.Coders, c)
	}
	sort.Strings(res.Coders)

	scores := make([][]themes.ThemeScore, len(comments))
	items := make([]themes.QueueItem, len(comments))
	for i, c := range comments {
		scores[i] = base.Model.Scores(c.Text)
		items[i] = themes.QueueItem{ResponseID: c.Unit(), Scores: scores[i]}
		res.Redactions += c.Redactions
	}
	plan := themes.DefaultSampler.Plan(items)
	position := make(map[string]int, len(plan))
	planned := make(map[string]themes.Planned, len(plan))
	for i, p := range plan {
		position[p.ResponseID] = i + 1
		planned[p.ResponseID] = p
	}

	redacted := make([]schemas.RedactedComment, len(comments))
	var rows []schemas.ResponseTheme
	for i, c := range comments {
		js, err := json.Marshal(scores[i])
		if err != nil {
			return res, err
		}
		p := planned[c.Unit()]
		redacted[i] = schemas.RedactedComment{ResponseID: c.ResponseID, QuestionID: c.QuestionID, RespondentType: c.RespondentType,
			Text: c.Text, Redactions: int64(c.Redactions), Scores: string(js), QueuePosition: int64(position[c.Unit()]),
			Evaluation: p.Evaluation, DoubleCoded: p.DoubleCoded}
		suggested := false
		for _, s := range scores[i] {
			if !s.Suggested() {
				continue
			}
			suggested = true
			conf := s.Probability
			rows = append(rows, schemas.ResponseTheme{Wave: in.Wave, ICS: in.ICS, ResponseID: c.ResponseID, QuestionID: c.QuestionID,
				Theme: s.Theme, CodedBy: schemas.CodedByModel, Source: schemas.SourceModel, Polarity: string(s.Polarity), Confidence: &conf,
				Final: !codedUnits[c.Unit()], RespondentType: c.RespondentType, CodebookVersion: cb.Version, CodedAt: in.At.UTC()})
			if !codedUnits[c.Unit()] {
				res.FinalByTheme[s.Theme]++
			}
		}
		if suggested {
			res.Suggested++
		}
	}
	for _, p := range people {
		c, ok := text[p.Unit]
		if !ok {
			continue // a decision on a comment no longer in the free-text area (deleted at retention)
		}
		for _, t := range p.Themes {
			rows = append(rows, schemas.ResponseTheme{Wave: in.Wave, ICS: in.ICS, ResponseID: c.ResponseID, QuestionID: c.QuestionID,
				Theme: t.Theme, CodedBy: p.Coder, Source: schemas.SourceCoder, Polarity: string(t.Polarity), Final: p.First,
				RespondentType: c.RespondentType, CodebookVersion: cb.Version, CodedAt: p.DecidedAt.UTC()})
			if p.First {
				res.FinalByTheme[t.Theme]++
			}
		}
	}
	if err := lake.PutRows(ctx, st, res.RedactedKey, schemas.RedactedCommentLayout(), redacted); err != nil {
		return res, fmt.Errorf("write redacted comments: %w", err)
	}
	var mb bytes.Buffer
	if err := base.Model.Encode(&mb); err != nil {
		return res, err
	}
	if err := store.PutBytes(ctx, st, res.ModelKey, mb.Bytes()); err != nil {
		return res, fmt.Errorf("write model: %w", err)
	}
	if err := lake.PutRows(ctx, st, res.ResponseThemesKey, schemas.ResponseThemeLayout(), rows); err != nil {
		return res, fmt.Errorf("write response themes: %w", err)
	}
	return res, deleteLegacyResponseThemes(ctx, st, in.Wave, in.ICS)
}

// deleteLegacyResponseThemes deletes the ICS's response themes objects of the earlier
// form, one per coding run (schemas.LegacyResponseThemesRun): the object just written
// replaces them all, and a reload that found them could put back rows that no longer
// stand.
func deleteLegacyResponseThemes(ctx context.Context, st store.Store, wave, ics string) error {
	prefix := schemas.LakePartition(schemas.LakeResponseThemes, wave, ics)
	infos, err := st.List(ctx, prefix)
	if err != nil {
		return fmt.Errorf("list the earlier response themes of %s %s: %w", wave, ics, err)
	}
	for _, in := range infos {
		if _, ok := schemas.LegacyResponseThemesRun(in.Key); ok {
			if err := st.Delete(ctx, in.Key); err != nil {
				return fmt.Errorf("delete earlier response themes %s: %w", in.Key, err)
			}
		}
	}
	return nil
}

// ReadRedacted reads an ICS's redacted comments as the last coding run wrote them.
func ReadRedacted(ctx context.Context, st store.Store, wave, ics string) ([]schemas.RedactedComment, error) {
	rows, err := lake.GetRows[schemas.RedactedComment](ctx, st, schemas.RedactedCommentsKey(wave, ics), schemas.RedactedCommentLayout())
	if err != nil {
		return nil, fmt.Errorf("read redacted comments of %s %s: %w", wave, ics, err)
	}
	return rows, nil
}
