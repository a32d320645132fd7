package warehouse

import (
	"fmt"

	"icesurvey/schemas"
)

// The published comparable data, for the dashboard: each release's Parquet tables
// (drafts/{wave}/{release}/*.parquet while a draft, publish/{wave}/{release}/*.parquet
// once approved, written by package publication) loaded as they are. They hold only figures that passed disclosure control, so the dashboard can
// show any row; a withheld figure is NULL with its status.
//
// The tables are keyed by wave, release and row, so loading a release's objects with
// LoadParquet (the warehouse load activity does) upserts its rows and leaves other
// releases alone; a release's files never change once written, except release.parquet,
// whose one row is replaced when the release is approved.
func init() {
	for name, t := range map[schemas.Table]Table{
		schemas.TablePublishedResults: {Name: schemas.TablePublishedResults, Layout: schemas.PublishedResultLayout(),
			Doc: "% positive per question (or multi-choice option) by ICS, by demographic group within each ICS, and for England, per release; withheld figures are NULL"},
		schemas.TablePublishedDistributions: {Name: schemas.TablePublishedDistributions, Layout: schemas.PublishedDistributionLayout(),
			Doc: "each option's weighted share (and for ICS rows its count) per question and group, per release; withheld figures are NULL"},
		schemas.TablePublishedResponseRates: {Name: schemas.TablePublishedResponseRates, Layout: schemas.PublishedResponseRateLayout(),
			Doc: "response rates by ICS and for England from the final outcome codes, per release"},
		schemas.TableReleases: {Name: schemas.TableReleases, Layout: schemas.PublishedReleaseLayout(), AddedColumns: true,
			Doc: "one row per release: status (draft or published), approver, what it holds"},
	} {
		if _, dup := Tables[name]; dup {
			panic("warehouse: table " + string(name) + " declared twice")
		}
		Tables[name] = t
	}
	Register(Migration{Version: 16, Name: "published comparable data", SQL: []string{
		Tables[schemas.TablePublishedResults].DDL(),
		Tables[schemas.TablePublishedDistributions].DDL(),
		Tables[schemas.TablePublishedResponseRates].DDL(),
		Tables[schemas.TableReleases].DDL(),
	}})
	// Until migration 21 the tables were keyed by release without the wave, and every
	// wave's first release is r1: a second wave's r1 replaced the first wave's rows
	// wherever their other key columns matched (its releases row always). The tables
	// are rebuilt keyed by wave too, keeping their rows, and the record of their loads
	// is forgotten, so that the next `ice warehouse reload` loads every release's
	// objects again and puts back the rows a later wave's release replaced.
	var rekey []string
	for _, name := range []schemas.Table{schemas.TablePublishedResults, schemas.TablePublishedDistributions,
		schemas.TablePublishedResponseRates, schemas.TableReleases} {
		rekey = append(rekey, rebuild(Tables[name])...)
		rekey = append(rekey, fmt.Sprintf("DELETE FROM loaded_files WHERE table_name = %s", sqlString(string(name))))
	}
	Register(Migration{Version: 21, Name: "published tables keyed by wave", SQL: rekey})
	// Each release's parameters (the values it was computed with), so the dashboard
	// states a release's own confidence level and small-number thresholds. A
	// release.parquet written before has no such column: it loads as NULL.
	Register(Migration{Version: 23, Name: "releases.parameters", SQL: []string{
		`ALTER TABLE releases ADD COLUMN IF NOT EXISTS parameters VARCHAR`}})
}
