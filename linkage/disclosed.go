package linkage

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"icesurvey/audit"
	"icesurvey/disclosure"
	"icesurvey/internal/duckmem"
	"icesurvey/lake"
	"icesurvey/schemas"
	"icesurvey/store"
)

// The linkage's aggregate counts go through the disclosure package before anyone is
// shown them, as publication's do: experience by treatment burden and by condition (the
// warehouse views linked_experience_by_burden and linked_experience_by_condition, run
// here by the same SQL over the release's Parquet) and the match rates of the quality
// report, and the consent of the quality report's consent bias: how many respondents of
// each frame category consented (consent_rates), and each scored question's positive
// answers of those who consented and those who did not (experience_by_consent). Each
// (aggregate, subject, grouping) is one disclosure table — its groups the grouping's
// values, its categories positive / not positive (linked / not linked, consented / not
// consented) — and only its checked cells are written: a withheld count, base or share
// is NULL with its status. Tables that cover the same people, and values two
// aggregates share, are checked together so that no withheld cell is one published
// figure less others (disclose, linkTables). The result is the release's
// linkage_disclosed table (lake, warehouse) and a CSV beside the quality report. The
// person-level outputs, the raw quality tables (cohort flow among them) and the
// utilisation view stay where they were: restricted to the analysts and engineers who
// may see them, never shown outside that group.

// DisclosedResult describes a release's disclosure-checked aggregates. Counts only.
type DisclosedResult struct {
	Key       string             `json:"key"`
	ReportKey string             `json:"report_key"`
	Tables    int                `json:"tables"`
	Cells     int                `json:"cells"`
	Withheld  int                `json:"withheld"`
	Summary   disclosure.Summary `json:"summary"`
}

// aggregateCount is one count of an aggregate before disclosure control.
type aggregateCount struct {
	aggregate, subject, grouping, group, category string
	n                                             int64
}

// DiscloseAggregates computes a built release's aggregate counts, applies disclosure
// control with p and stores the checked cells (schemas.TableLinkageDisclosed).
func DiscloseAggregates(ctx context.Context, st store.Store, wave, release string, p disclosure.Params) (*DisclosedResult, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	counts, err := aggregateCounts(ctx, st, wave, release)
	if err != nil {
		return nil, err
	}
	rows, res, err := disclose(counts, p, wave, release)
	if err != nil {
		return nil, err
	}
	res.Key = schemas.LinkedKey(schemas.TableLinkageDisclosed, wave, release)
	if err := lake.PutRows(ctx, st, res.Key, schemas.LinkageDisclosedLayout(), rows); err != nil {
		return nil, fmt.Errorf("linkage: store %s: %w", res.Key, err)
	}
	b, err := CSV(schemas.LinkageDisclosedLayout(), rows)
	if err != nil {
		return nil, err
	}
	res.ReportKey = schemas.LinkageReportPrefix(wave, release) + schemas.TableLinkageDisclosed + ".csv"
	if err := store.PutBytes(ctx, st, res.ReportKey, b); err != nil {
		return nil, fmt.Errorf("linkage: store %s: %w", res.ReportKey, err)
	}
	audit.Record(ctx, "linkage_aggregates_disclosed", map[string]any{"wave": wave, "release": release, "tables": res.Tables,
		"cells": res.Cells, "withheld": res.Withheld, "min_base": p.MinBase, "min_count": p.MinCount, "key": res.Key})
	return res, nil
}

// aggregateCounts are a built release's aggregate counts before disclosure control.
func aggregateCounts(ctx context.Context, st store.Store, wave, release string) ([]aggregateCount, error) {
	counts, err := experienceCounts(ctx, st, wave, release)
	if err != nil {
		return nil, err
	}
	rates, err := lake.GetRows[schemas.LinkageMatchRate](ctx, st, schemas.LinkedKey(schemas.TableLinkageMatchRates, wave, release), schemas.LinkageMatchRateLayout())
	if err != nil {
		return nil, fmt.Errorf("linkage: read the match rates of %s/%s: %w", wave, release, err)
	}
	for _, r := range rates {
		counts = append(counts,
			aggregateCount{schemas.LinkageAggregateMatchRates, r.DatasetID, r.Dimension, r.Category, "linked", r.Linked},
			aggregateCount{schemas.LinkageAggregateMatchRates, r.DatasetID, r.Dimension, r.Category, "not_linked", r.Consenters - r.Linked})
	}
	bias, err := lake.GetRows[schemas.LinkageConsentBias](ctx, st, schemas.LinkedKey(schemas.TableLinkageConsentBias, wave, release), schemas.LinkageConsentBiasLayout())
	if err != nil {
		return nil, fmt.Errorf("linkage: read the consent bias of %s/%s: %w", wave, release, err)
	}
	return append(counts, consentCounts(bias)...), nil
}

// experienceCounts runs the warehouse's experience views over the release's Parquet.
func experienceCounts(ctx context.Context, st store.Store, wave, release string) ([]aggregateCount, error) {
	// The release's rows are pseudonymised: a spill goes to a private directory.
	db, err := duckmem.Open("linkage-disclosed")
	if err != nil {
		return nil, fmt.Errorf("linkage: open DuckDB: %w", err)
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	for _, table := range []string{schemas.TableLinkedRespondents, schemas.TableLinkedAnswers, schemas.TableLinkedConditions} {
		local, cleanup, err := lake.LocalCopy(ctx, st, schemas.LinkedKey(table, wave, release))
		if err != nil {
			return nil, fmt.Errorf("linkage: read %s of %s/%s: %w", table, wave, release, err)
		}
		defer cleanup()
		if _, err := conn.ExecContext(ctx, fmt.Sprintf("CREATE VIEW %s AS SELECT * FROM read_parquet(%s)", table, sqlQuote(local))); err != nil {
			return nil, fmt.Errorf("linkage: bind %s: %w", table, err)
		}
	}
	for _, v := range WarehouseViews[:2] {
		if _, err := conn.ExecContext(ctx, v); err != nil {
			return nil, fmt.Errorf("linkage: experience views: %w", err)
		}
	}
	var out []aggregateCount
	for _, q := range []struct{ aggregate, sql string }{
		{schemas.LinkageAggregateExperienceByBurden, `SELECT question_id, grouping, group_value, category, respondents FROM linked_experience_by_burden`},
		{schemas.LinkageAggregateExperienceByCondition, `SELECT question_id, 'condition', condition_id, category, respondents FROM linked_experience_by_condition`},
	} {
		rows, err := conn.QueryContext(ctx, q.sql)
		if err != nil {
			return nil, fmt.Errorf("linkage: %s: %w", q.aggregate, err)
		}
		for rows.Next() {
			c := aggregateCount{aggregate: q.aggregate}
			if err := rows.Scan(&c.subject, &c.grouping, &c.group, &c.category, &c.n); err != nil {
				rows.Close()
				return nil, err
			}
			out = append(out, c)
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// consentCounts are the consent bias's counts as two aggregates: for a frame variable,
// each category's respondents who consented and who did not; for a question
// ("question:ID"), the positive answers of those who consented and of those who did not.
func consentCounts(bias []schemas.LinkageConsentBias) []aggregateCount {
	var out []aggregateCount
	for _, b := range bias {
		if q, ok := strings.CutPrefix(b.Dimension, "question:"); ok {
			out = append(out,
				aggregateCount{schemas.LinkageAggregateExperienceByConsent, q, "consent", "consented", "positive", b.Consenters},
				aggregateCount{schemas.LinkageAggregateExperienceByConsent, q, "consent", "consented", "not_positive", b.ConsentersBase - b.Consenters},
				aggregateCount{schemas.LinkageAggregateExperienceByConsent, q, "consent", "not_consented", "positive", b.NonConsenters},
				aggregateCount{schemas.LinkageAggregateExperienceByConsent, q, "consent", "not_consented", "not_positive", b.NonConsentersBase - b.NonConsenters})
			continue
		}
		out = append(out,
			aggregateCount{schemas.LinkageAggregateConsentRates, b.Dimension, b.Dimension, b.Category, "consented", b.Consenters},
			aggregateCount{schemas.LinkageAggregateConsentRates, b.Dimension, b.Dimension, b.Category, "not_consented", b.NonConsenters})
	}
	return out
}

// categoriesOf are the two categories of an aggregate, the first the "positive" one.
func categoriesOf(aggregate string) []string {
	switch aggregate {
	case schemas.LinkageAggregateMatchRates:
		return []string{"linked", "not_linked"}
	case schemas.LinkageAggregateConsentRates:
		return []string{"consented", "not_consented"}
	}
	return []string{"positive", "not_positive"}
}

// familyOf names the tables whose groups partition the same people, so that each
// of them sums, category by category, to the same column totals: every grouping of one
// question's experience by burden, every grouping of one dataset's match rates (its
// "all" row is the totals themselves), and every frame variable of the consent rates.
// A question's experience by consent is a family of its own: its column totals, the
// question's positive and other answers of every respondent, follow from the
// publication's counts. Experience by condition has none (a person has any number of
// conditions): ok is false.
func familyOf(aggregate, subject string) (family string, ok bool) {
	switch aggregate {
	case schemas.LinkageAggregateExperienceByCondition:
		return "", false
	case schemas.LinkageAggregateConsentRates:
		return aggregate, true
	}
	return aggregate + "/" + subject, true
}

// disclosedTable is one checked table as it will be written, which the checks across
// tables may withhold more of.
type disclosedTable struct {
	aggregate, subject, grouping string
	family                       string
	rows                         []disclosedRow
	summary                      disclosure.Summary
}

type disclosedRow struct {
	group  string
	base   int64
	status disclosure.Status // Published, Caution, BaseTooSmall or Secondary
	counts []int64
	cells  []disclosure.Status
}

func (r *disclosedRow) open() bool { return !r.status.Withheld() }

// withholdCounts withholds every published count of the table's published rows (S).
func (t *disclosedTable) withholdCounts() bool {
	changed := false
	for i := range t.rows {
		r := &t.rows[i]
		for j, st := range r.cells {
			if r.open() && !st.Withheld() {
				r.cells[j] = disclosure.Secondary
				changed = true
			}
		}
	}
	return changed
}

// withholdRow withholds a published row whole, its base too (S).
func (t *disclosedTable) withholdRow(group string) bool {
	for i := range t.rows {
		if r := &t.rows[i]; r.group == group && r.open() {
			r.status = disclosure.Secondary
			return true
		}
	}
	return false
}

// row returns the table's row of group, nil when it has none.
func (t *disclosedTable) row(group string) *disclosedRow {
	for i := range t.rows {
		if t.rows[i].group == group {
			return &t.rows[i]
		}
	}
	return nil
}

// disclose groups the counts into disclosure tables, checks each and returns the
// checked cells in a fixed order.
//
// Each table is checked on its own, but no table is published on its own: the tables
// of a family (familyOf) are groupings of the same people, so whatever one of them
// shows whole, the others' column totals are known, and a single withheld cell of a
// column (a base-withheld group's too) would be the total less the rest. So every table
// of a family is checked with its column totals as published (S4, and the audit
// counting the totals as known). Given the totals the tables share no unknown, so each
// one's audit is exact for the family. Where any table of a family has to withhold a
// total (one of 1 to min_count-1, or one the audit had to withhold), the totals cannot
// be assumed known and the tables' separate checks do not compose: every count of the
// family is withheld (S), its bases left as checked.
//
// Then the ties between aggregates (linkTables): a question's consenting respondents by
// burden are its experience by consent's consenting row, and a group's consenters are
// the base of its match rates in every dataset and its consenters in the consent rates.
// A value withheld in one place is withheld in the others, withholding more until
// nothing changes; withholding more never makes another withheld count exact.
func disclose(counts []aggregateCount, p disclosure.Params, wave, release string) ([]schemas.LinkageDisclosed, *DisclosedResult, error) {
	type tableKey struct{ aggregate, subject, grouping string }
	byTable := map[tableKey]map[string][]int64{}
	for _, c := range counts {
		k := tableKey{c.aggregate, c.subject, c.grouping}
		groups := byTable[k]
		if groups == nil {
			groups = map[string][]int64{}
			byTable[k] = groups
		}
		cats := categoriesOf(c.aggregate)
		j := slices.Index(cats, c.category)
		if j < 0 {
			return nil, nil, fmt.Errorf("linkage: %s %s: unknown category %q", c.aggregate, c.subject, c.category)
		}
		if groups[c.group] == nil {
			groups[c.group] = make([]int64, len(cats))
		}
		groups[c.group][j] += c.n
	}
	keys := make([]tableKey, 0, len(byTable))
	for k := range byTable {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b tableKey) int {
		return cmp.Or(cmp.Compare(a.aggregate, b.aggregate), cmp.Compare(a.subject, b.subject), cmp.Compare(a.grouping, b.grouping))
	})
	tables := make([]*disclosedTable, 0, len(keys))
	totalsWithheld := map[string]bool{} // family → some table withheld a column total
	for _, k := range keys {
		cats := categoriesOf(k.aggregate)
		family, totals := familyOf(k.aggregate, k.subject)
		t := disclosure.Table{Name: fmt.Sprintf("linkage %s %s by %s", k.aggregate, k.subject, k.grouping), Categories: cats,
			PositiveCategories: []bool{true, false}, ColumnTotals: totals}
		for g, row := range byTable[k] {
			t.Groups = append(t.Groups, g)
			t.Counts = append(t.Counts, row)
		}
		checked, err := disclosure.Check(t, p)
		if err != nil {
			return nil, nil, fmt.Errorf("linkage: disclosure of %s: %w", t.Name, err)
		}
		dt := &disclosedTable{aggregate: k.aggregate, subject: k.subject, grouping: k.grouping, family: family, summary: checked.Summary()}
		for j := range checked.NumCategories() {
			if totals && checked.ColumnTotalStatus(j).Withheld() {
				totalsWithheld[family] = true
			}
		}
		for i := range checked.NumGroups() {
			g := checked.Group(i)
			r := disclosedRow{group: g, status: checked.RowStatus(i), counts: byTable[k][g], cells: make([]disclosure.Status, len(cats))}
			r.base, _ = checked.Base(i)
			for j := range cats {
				r.cells[j] = checked.CellStatus(i, j)
			}
			dt.rows = append(dt.rows, r)
		}
		tables = append(tables, dt)
	}
	for _, t := range tables {
		if totalsWithheld[t.family] {
			t.withholdCounts()
		}
	}
	linkTables(tables)

	res := &DisclosedResult{}
	var out []schemas.LinkageDisclosed
	for _, t := range tables {
		res.Tables++
		res.Summary.Add(t.summarise())
		for _, r := range t.rows {
			for j, cat := range categoriesOf(t.aggregate) {
				d := schemas.LinkageDisclosed{ReleaseID: release, WaveID: wave, Aggregate: t.aggregate, Subject: t.subject,
					Grouping: t.grouping, GroupValue: r.group, Category: cat}
				status := r.cells[j]
				if !r.open() {
					status = r.status
				}
				if r.open() {
					b := r.base
					d.Base = &b
				}
				if !status.Withheld() {
					n := r.counts[j]
					d.Count = &n
					if r.base > 0 {
						s := float64(n) / float64(r.base)
						d.Share = &s
					}
				} else {
					res.Withheld++
				}
				if status == disclosure.Published && r.status == disclosure.Caution {
					status = disclosure.Caution
				}
				d.Status = status.String()
				res.Cells++
				out = append(out, d)
			}
		}
	}
	return out, res, nil
}

// summarise counts what the table withheld in the end (its check's column totals
// withheld kept).
func (t *disclosedTable) summarise() disclosure.Summary {
	s := disclosure.Summary{TotalsWithheld: t.summary.TotalsWithheld, PositiveWithheld: t.summary.PositiveWithheld}
	for _, r := range t.rows {
		s.Rows++
		s.Cells += len(r.cells)
		switch r.status {
		case disclosure.Caution:
			s.RowsCaution++
		case disclosure.BaseTooSmall:
			s.RowsBase++
		case disclosure.Secondary:
			s.RowsSecondary++
		}
		if !r.open() {
			s.CellsInWithheldRows += len(r.cells)
			continue
		}
		for _, st := range r.cells {
			switch st {
			case disclosure.Primary:
				s.CellsPrimary++
			case disclosure.Secondary:
				s.CellsSecondary++
			}
		}
	}
	return s
}

// linkTables withholds, until nothing changes, what one aggregate would give away of
// another's withheld values:
//   - a question's experience by consent, consenting row: its counts are the column
//     totals of the question's experience by burden. If any of them is withheld there,
//     every count of the question's burden tables is withheld (the totals unknown); if
//     the burden family withheld its counts for want of known totals, the experience
//     by consent is withheld whole.
//   - a group's consenters (its consent rates' consented count) are the base of its
//     match rates in every dataset (and the consenters of all, the base of the match
//     rates' "all" row). A match-rates row withheld in one dataset is withheld in every
//     dataset and its consent-rates row withheld whole; a consented count withheld in
//     the consent rates withholds the group's match-rates rows; the consent rates'
//     column totals withheld withhold the "all" rows.
func linkTables(tables []*disclosedTable) {
	burden := map[string][]*disclosedTable{} // question → its burden tables
	consent := map[string]*disclosedTable{}  // question → its experience by consent
	consentRates := map[string]*disclosedTable{}
	var match []*disclosedTable
	for _, t := range tables {
		switch t.aggregate {
		case schemas.LinkageAggregateExperienceByBurden:
			burden[t.subject] = append(burden[t.subject], t)
		case schemas.LinkageAggregateExperienceByConsent:
			consent[t.subject] = t
		case schemas.LinkageAggregateConsentRates:
			consentRates[t.grouping] = t
		case schemas.LinkageAggregateMatchRates:
			match = append(match, t)
		}
	}
	totalsHidden := func(ts []*disclosedTable) bool { // no count of the family published
		for _, t := range ts {
			for _, r := range t.rows {
				for _, st := range r.cells {
					if r.open() && !st.Withheld() {
						return false
					}
				}
			}
		}
		return true
	}
	consentRatesHidden := false
	for _, t := range consentRates {
		if t.summary.TotalsWithheld > 0 {
			consentRatesHidden = true
		}
	}
	for changed := true; changed; {
		changed = false
		for q, ts := range burden {
			c := consent[q]
			if c == nil {
				continue
			}
			r := c.row("consented")
			if r == nil {
				continue
			}
			rowWithheld := !r.open() || slices.ContainsFunc(r.cells, disclosure.Status.Withheld)
			if rowWithheld {
				for _, t := range ts {
					changed = t.withholdCounts() || changed
				}
			} else if totalsHidden(ts) {
				// The consenting row's counts are the burden tables' totals: withhold
				// the table whole (one count alone would be the base less the other, and
				// the consenting row alone the question's answers of every respondent,
				// which the publication's counts give, less the other row).
				for _, r := range c.rows {
					changed = c.withholdRow(r.group) || changed
				}
			}
		}
		// Match rates: a group's base is the same in every dataset and in the consent
		// rates.
		withheld := map[[2]string]bool{} // (dimension, category)
		for _, t := range match {
			for _, r := range t.rows {
				if !r.open() {
					withheld[[2]string{t.grouping, r.group}] = true
				}
			}
		}
		for dim, t := range consentRates {
			for _, r := range t.rows {
				if !r.open() || r.cells[0].Withheld() {
					withheld[[2]string{dim, r.group}] = true
				}
			}
		}
		if consentRatesHidden {
			withheld[[2]string{"all", "all"}] = true
		}
		for _, t := range match {
			for _, r := range t.rows {
				if withheld[[2]string{t.grouping, r.group}] {
					changed = t.withholdRow(r.group) || changed
				}
			}
		}
		for dim, t := range consentRates {
			for _, r := range t.rows {
				if withheld[[2]string{dim, r.group}] && r.open() && !r.cells[0].Withheld() {
					changed = t.withholdRow(r.group) || changed
				}
			}
		}
	}
}
