package dashdata

import (
	"context"
	"database/sql"
	"fmt"

	"icesurvey/codes"
	"icesurvey/linkage"
	"icesurvey/schemas"
	"icesurvey/web"
)

var _ web.Linkage = (*Source)(nil)

// LinkedAggregates returns the wave's linkage release's disclosed aggregates from the
// snapshot's linkage_disclosed, as the release's disclosure control left them: a
// withheld cell (its count NULL) comes back withheld, with no number. Nothing is
// computed here. A warehouse without the linkage's tables, or a wave with no linkage
// release, gives a zero LinkedRelease. They are read once per snapshot and wave.
func (s *Source) LinkedAggregates(ctx context.Context, wave string) (web.LinkedRelease, error) {
	sn, err := s.snap()
	if err != nil {
		return web.LinkedRelease{}, err
	}
	sn.mu.Lock()
	defer sn.mu.Unlock()
	if rel, ok := sn.linked[wave]; ok {
		return rel, nil
	}
	rel, err := s.readLinked(ctx, sn, wave)
	if err != nil {
		return web.LinkedRelease{}, err
	}
	if sn.linked == nil {
		sn.linked = map[string]web.LinkedRelease{}
	}
	sn.linked[wave] = rel
	return rel, nil
}

// readLinked reads the wave's cells of linkage_disclosed from the snapshot.
func (s *Source) readLinked(ctx context.Context, sn *snapshot, wave string) (web.LinkedRelease, error) {
	var tables int
	if err := sn.db.QueryRowContext(ctx, `SELECT count(*) FROM information_schema.tables WHERE table_name = ?`,
		string(schemas.TableLinkageDisclosed)).Scan(&tables); err != nil {
		return web.LinkedRelease{}, fmt.Errorf("dashdata: looking for %s: %w", schemas.TableLinkageDisclosed, err)
	}
	if tables == 0 {
		return web.LinkedRelease{}, nil
	}
	rows, err := sn.db.QueryContext(ctx, `SELECT release_id, aggregate, subject, grouping, group_value, category, count, base, share, status
FROM `+string(schemas.TableLinkageDisclosed)+` WHERE wave_id = ? ORDER BY aggregate, subject, grouping, group_value, category`, wave)
	if err != nil {
		return web.LinkedRelease{}, fmt.Errorf("dashdata: reading the linked aggregates of %s: %w", wave, err)
	}
	defer rows.Close()
	names, err := linkageNames()
	if err != nil {
		return web.LinkedRelease{}, err
	}
	var rel web.LinkedRelease
	for rows.Next() {
		var release string
		var c web.LinkedCell
		var count, base sql.NullInt64
		var share sql.NullFloat64
		if err := rows.Scan(&release, &c.Aggregate, &c.Subject, &c.Grouping, &c.GroupValue, &c.Category, &count, &base, &share, &c.Status); err != nil {
			return web.LinkedRelease{}, fmt.Errorf("dashdata: reading the linked aggregates of %s: %w", wave, err)
		}
		if rel.ReleaseID == "" {
			rel.ReleaseID = release
		} else if release != rel.ReleaseID {
			// The warehouse holds each wave's current release only (a release retires
			// the earlier ones): two would be a load gone wrong, not figures to mix.
			return web.LinkedRelease{}, fmt.Errorf("dashdata: %s holds two linkage releases of %s (%s and %s)",
				schemas.TableLinkageDisclosed, wave, rel.ReleaseID, release)
		}
		if !c.Withheld() {
			if !count.Valid || !base.Valid || !share.Valid {
				return web.LinkedRelease{}, fmt.Errorf("dashdata: %s of %s: %s %s %s=%s %s has status %q but no number",
					schemas.TableLinkageDisclosed, wave, c.Aggregate, c.Subject, c.Grouping, c.GroupValue, c.Category, c.Status)
			}
			c.Count, c.Base, c.Share = count.Int64, base.Int64, share.Float64
		}
		switch c.Aggregate {
		case web.AggregateMatchRates:
			c.SubjectText = names.datasets[c.Subject]
		case web.AggregateConsentRates:
			// The subject is the frame variable the page names itself.
		default:
			c.SubjectText = s.questionText(c.Subject, "")
		}
		switch c.Grouping {
		case "condition":
			c.GroupLabel = names.conditions[c.GroupValue]
		case codes.BreakdownAgeBand, codes.BreakdownGender, codes.BreakdownEthnicity, codes.BreakdownEFIBand:
			c.GroupLabel = levelLabel(c.Grouping, c.GroupValue)
		case linkageEthnicity:
			c.GroupLabel = levelLabel(codes.BreakdownEthnicity, c.GroupValue)
		case "all":
			c.GroupLabel = "All"
		case "consent":
			c.GroupLabel = map[string]string{"consented": "Consented", "not_consented": "Did not consent"}[c.GroupValue]
		}
		rel.Cells = append(rel.Cells, c)
	}
	if err := rows.Err(); err != nil {
		return web.LinkedRelease{}, fmt.Errorf("dashdata: reading the linked aggregates of %s: %w", wave, err)
	}
	if rel.ReleaseID != "" {
		p := s.params.Disclosure
		rel.MinBase = p.MinBase
		rel.Method = fmt.Sprintf("Counts of consenting patient respondents, unweighted, as linkage release %s disclosed them (linkage_disclosed): "+
			"each aggregate checked by the publication's disclosure rules (a base under %d withheld, a count from 1 to %d withheld, "+
			"secondary suppression so none can be worked back; a base under %d marked for caution).",
			rel.ReleaseID, p.MinBase, p.MinCount-1, p.CautionBase)
	}
	return rel, nil
}

// linkageNamesOf are how people name the linkage's datasets and conditions.
type linkageNamesOf struct {
	datasets, conditions map[string]string
}

// linkageEthnicity is the linkage release's ethnic group dimension (schemas' column
// ethnicity_group): the same group codes as the results' breakdown codes.BreakdownEthnicity.
const linkageEthnicity = "ethnicity_group"

// linkageNames reads the names from the linkage's embedded definitions and code lists.
func linkageNames() (linkageNamesOf, error) {
	n := linkageNamesOf{datasets: map[string]string{"any": "Any dataset"}, conditions: map[string]string{}}
	defs, err := linkage.DefaultDefinitions()
	if err != nil {
		return n, fmt.Errorf("dashdata: the linkage's dataset definitions: %w", err)
	}
	for _, d := range defs.All() {
		n.datasets[d.ID] = d.Title
	}
	lists, err := linkage.DefaultCodelists()
	if err != nil {
		return n, fmt.Errorf("dashdata: the linkage's code lists: %w", err)
	}
	for _, l := range lists.Lists {
		for _, c := range l.Conditions {
			n.conditions[c.ID] = c.Label
		}
	}
	return n, nil
}
