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
// is NULL with its status. The result is the release's linkage_disclosed table (lake, warehouse) and
// a CSV beside the quality report. The person-level outputs and the raw quality tables
// stay where they were: restricted to the analysts and engineers who may see them.

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
	counts = append(counts, consentCounts(bias)...)
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

// disclose groups the counts into disclosure tables, checks each and returns the
// checked cells in a fixed order.
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
	res := &DisclosedResult{}
	var out []schemas.LinkageDisclosed
	for _, k := range keys {
		cats := categoriesOf(k.aggregate)
		t := disclosure.Table{Name: fmt.Sprintf("linkage %s %s by %s", k.aggregate, k.subject, k.grouping), Categories: cats,
			PositiveCategories: []bool{true, false}}
		for g, row := range byTable[k] {
			t.Groups = append(t.Groups, g)
			t.Counts = append(t.Counts, row)
		}
		checked, err := disclosure.Check(t, p)
		if err != nil {
			return nil, nil, fmt.Errorf("linkage: disclosure of %s: %w", t.Name, err)
		}
		res.Tables++
		res.Summary.Add(checked.Summary())
		for i := range checked.NumGroups() {
			base, baseOK := checked.Base(i)
			rowStatus := checked.RowStatus(i)
			for j := range checked.NumCategories() {
				d := schemas.LinkageDisclosed{ReleaseID: release, WaveID: wave, Aggregate: k.aggregate, Subject: k.subject,
					Grouping: k.grouping, GroupValue: checked.Group(i), Category: checked.Category(j)}
				status := checked.CellStatus(i, j)
				if rowStatus.Withheld() {
					status = rowStatus
				}
				if baseOK {
					b := base
					d.Base = &b
				}
				if n, ok := checked.Count(i, j); ok && !status.Withheld() {
					d.Count = &n
					if baseOK && base > 0 {
						s := float64(n) / float64(base)
						d.Share = &s
					}
				} else {
					res.Withheld++
				}
				if status == disclosure.Published && rowStatus == disclosure.Caution {
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
