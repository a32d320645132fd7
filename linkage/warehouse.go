package linkage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"icesurvey/lake"
	"icesurvey/schemas"
	"icesurvey/store"
	"icesurvey/warehouse"
)

// The linkage's warehouse tables hold the current release of each wave: each is loaded
// from its lake object with the wave as its partition, so loading a release replaces the
// wave's earlier one (a withdrawn person leaves the warehouse with the next release).
// The views set linked utilisation beside experience as plain group × category count
// tables — the shape the disclosure package takes — and leave percentages to be
// computed after small numbers are suppressed.
//
// WarehouseMigration is registered as warehouse migration WarehouseVersion when this
// package is linked (the worker links it through its activities); LoadRelease runs on
// the warehouse task queue. The registration lives here, not in package warehouse as
// publication's does, because the tables and views are declared here and this package
// imports warehouse (the other way round would be a cycle).

// WarehouseVersion is the linkage's warehouse migration version (assigned: 17).
const WarehouseVersion = 17

func init() {
	warehouse.Register(WarehouseMigration(WarehouseVersion))
	warehouse.Document(WarehouseTables()...)
}

// WarehouseTables are the linkage's warehouse tables.
func WarehouseTables() []warehouse.Table {
	wave := []string{"wave_id"}
	return []warehouse.Table{
		{Name: schemas.Table(schemas.TableLinkedRespondents), Layout: schemas.LinkedRespondentLayout(), PartitionBy: wave,
			Doc: "one row per consenting patient respondent of the current release: linked utilisation in the 6 and 12 months before the response, treatment burden; release pseudonyms only"},
		{Name: schemas.Table(schemas.TableLinkedConditions), Layout: schemas.LinkedConditionLayout(), PartitionBy: wave, Unindexed: true,
			Doc: "conditions of linked respondents from the versioned code lists (illustrative until replaced by approved lists)"},
		{Name: schemas.Table(schemas.TableLinkedAnswers), Layout: schemas.LinkedAnswerLayout(), PartitionBy: wave, Unindexed: true,
			Doc: "closed answers of linked respondents, scored, keyed by the release pseudonym"},
		{Name: schemas.Table(schemas.TableLinkageFlow), Layout: schemas.LinkageFlowLayout(), PartitionBy: wave,
			Doc: "cohort flow: sampled, responded, consented, linked (any dataset and each), by ICS (restricted: not disclosure-checked, never shown outside the analysts)"},
		{Name: schemas.Table(schemas.TableLinkageMatchRates), Layout: schemas.LinkageMatchRateLayout(), PartitionBy: wave,
			Doc: "share of consenters found in each dataset by ICS, age band, gender, ethnicity group and eFI band"},
		{Name: schemas.Table(schemas.TableLinkageConsentBias), Layout: schemas.LinkageConsentBiasLayout(), PartitionBy: wave,
			Doc: "consenters against non-consenters on frame variables and scored closed questions"},
		{Name: schemas.Table(schemas.TableLinkageAccuracy), Layout: schemas.LinkageAccuracyLayout(), PartitionBy: wave,
			Doc: "precision and recall against a synthetic truth file (test data only)"},
		{Name: schemas.Table(schemas.TableLinkageDisclosed), Layout: schemas.LinkageDisclosedLayout(), PartitionBy: wave,
			Doc: "the linkage's aggregate counts after disclosure control (experience by burden, by condition and by consent, match rates, consent rates), checked against differencing across groupings and aggregates: the only linkage counts to show"},
	}
}

// warehouseDDL creates every table with every column a key: a wave's rows are replaced
// whole, so no index is needed, and a wave's keys never meet another wave's.
func warehouseDDL() []string {
	var out []string
	for _, t := range WarehouseTables() {
		out = append(out, t.Layout.UnindexedDDL(string(t.Name)))
	}
	return out
}

// WarehouseViews are the analysts' views over the linked tables. Each is a plain count
// table (groups × category), for the disclosure rules to be applied to before any
// percentage is shown.
var WarehouseViews = []string{
	// Experience by treatment burden: for each scored question, how many linked
	// respondents in each burden group answered positively or not (those in its base).
	`CREATE OR REPLACE VIEW linked_experience_by_burden AS
WITH r AS (
  SELECT wave_id, release_id, release_pseudonym,
    CASE WHEN distinct_providers_12m = 0 THEN '0' WHEN distinct_providers_12m = 1 THEN '1'
         WHEN distinct_providers_12m = 2 THEN '2' WHEN distinct_providers_12m <= 4 THEN '3-4' ELSE '5+' END AS providers_12m,
    CAST(distinct_services_12m AS VARCHAR) AS services_12m,
    CASE WHEN contact_days_12m < 12 THEN '0-11' WHEN contact_days_12m < 24 THEN '12-23'
         WHEN contact_days_12m < 48 THEN '24-47' ELSE '48+' END AS contact_days_12m,
    CASE WHEN emergency_admissions_12m = 0 THEN '0' WHEN emergency_admissions_12m = 1 THEN '1' ELSE '2+' END AS emergency_admissions_12m,
    efi_band
  FROM linked_respondents
), g AS (
  SELECT wave_id, release_id, release_pseudonym, 'providers_12m' AS grouping, providers_12m AS group_value FROM r
  UNION ALL SELECT wave_id, release_id, release_pseudonym, 'services_12m', services_12m FROM r
  UNION ALL SELECT wave_id, release_id, release_pseudonym, 'contact_days_12m', contact_days_12m FROM r
  UNION ALL SELECT wave_id, release_id, release_pseudonym, 'emergency_admissions_12m', emergency_admissions_12m FROM r
  UNION ALL SELECT wave_id, release_id, release_pseudonym, 'efi_band', efi_band FROM r
)
SELECT g.wave_id, g.release_id, a.question_id, g.grouping, g.group_value,
  CASE WHEN a.positive THEN 'positive' ELSE 'not_positive' END AS category,
  count(*) AS respondents
FROM g JOIN linked_answers a ON a.wave_id = g.wave_id AND a.release_pseudonym = g.release_pseudonym
WHERE a.scored AND a.in_base
GROUP BY g.wave_id, g.release_id, a.question_id, g.grouping, g.group_value, category`,

	// Experience by condition: each scored question by each condition flag.
	`CREATE OR REPLACE VIEW linked_experience_by_condition AS
SELECT c.wave_id, c.release_id, a.question_id, c.condition_id,
  CASE WHEN a.positive THEN 'positive' ELSE 'not_positive' END AS category,
  count(*) AS respondents
FROM linked_conditions c
JOIN linked_answers a ON a.wave_id = c.wave_id AND a.release_pseudonym = c.release_pseudonym
WHERE a.scored AND a.in_base
GROUP BY c.wave_id, c.release_id, a.question_id, c.condition_id, category`,

	// Utilisation by group: the sums behind mean utilisation by frame variable.
	`CREATE OR REPLACE VIEW linked_utilisation_by_group AS
SELECT wave_id, release_id, ics, age_band, efi_band, count(*) AS respondents,
  sum(gp_appointments_12m) AS gp_appointments_12m, sum(ae_attendances_12m) AS ae_attendances_12m,
  sum(emergency_admissions_12m) AS emergency_admissions_12m, sum(elective_admissions_12m) AS elective_admissions_12m,
  sum(bed_days_12m) AS bed_days_12m, sum(outpatient_attendances_12m) AS outpatient_attendances_12m,
  sum(community_contacts_12m) AS community_contacts_12m, sum(mental_health_contacts_12m) AS mental_health_contacts_12m,
  sum(social_care_services_12m) AS social_care_services_12m, sum(contact_days_12m) AS contact_days_12m
FROM linked_respondents
GROUP BY wave_id, release_id, ics, age_band, efi_band`,
}

// WarehouseMigration creates the linkage's tables and views, as migration version.
func WarehouseMigration(version int) warehouse.Migration {
	return warehouse.Migration{Version: version, Name: "linkage: linked respondents, answers, conditions, quality report and views",
		SQL: append(warehouseDDL(), WarehouseViews...)}
}

// LoadRelease loads a release's tables into the warehouse in one transaction, replacing
// the wave's earlier release. A table the release lacks (accuracy without a truth file)
// is emptied for the wave.
func LoadRelease(ctx context.Context, w *warehouse.Warehouse, st store.Store, wave, release string) (map[string]int64, error) {
	type obj struct {
		t      warehouse.Table
		key    string
		local  string
		sha    string
		exists bool
	}
	var objs []obj
	var cleanups []func()
	defer func() {
		for _, c := range cleanups {
			c()
		}
	}()
	for _, t := range WarehouseTables() {
		key := schemas.LinkedKey(string(t.Name), wave, release)
		if _, err := st.Stat(ctx, key); errors.Is(err, store.ErrNotExist) {
			objs = append(objs, obj{t: t, key: key})
			continue
		} else if err != nil {
			return nil, err
		}
		local, cleanup, err := lake.LocalCopy(ctx, st, key)
		if err != nil {
			return nil, err
		}
		cleanups = append(cleanups, cleanup)
		sha, err := fileSHA256(local)
		if err != nil {
			return nil, err
		}
		objs = append(objs, obj{t: t, key: key, local: local, sha: sha, exists: true})
	}
	loaded := map[string]int64{}
	err := w.Write(ctx, func(tx *sql.Tx) error {
		for _, o := range objs {
			if !o.exists {
				if _, err := tx.ExecContext(ctx, fmt.Sprintf("DELETE FROM %s WHERE wave_id = ?", schemas.QuoteIdent(string(o.t.Name))), wave); err != nil {
					return fmt.Errorf("linkage: clear %s: %w", o.t.Name, err)
				}
				continue
			}
			// The wave's rows are this release's from now: an earlier release's object
			// is no longer loaded, so that loading it again (a rebuild from the lake)
			// replaces these rows rather than being skipped as loaded before.
			if _, err := tx.ExecContext(ctx, `DELETE FROM loaded_files WHERE table_name = ? AND starts_with(object_key, ?) AND object_key <> ?`,
				string(o.t.Name), strings.TrimSuffix(schemas.LinkedPartition(string(o.t.Name), wave, release), "release="+release+"/"), o.key); err != nil {
				return fmt.Errorf("linkage: forget the earlier releases' loads of %s: %w", o.t.Name, err)
			}
			n, _, err := warehouse.LoadParquet(ctx, tx, o.t, o.local, o.key, o.sha, wave)
			if err != nil {
				return err
			}
			loaded[string(o.t.Name)] = n
		}
		return nil
	})
	return loaded, err
}
