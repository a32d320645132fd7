package linkage

import (
	"embed"
	"fmt"
	"sort"
	"strings"

	"icesurvey/schemas"
)

// The linkage's joins and aggregates are SQL files (sql/*.sql), written once over
// logical relations — frame, answers, measure_map, codelist, datasets (staged by the
// linkage), activity and diagnoses (the lake's validated extracts) and, for synthetic
// data, truth — in SQL that DuckDB, Spark SQL and Trino all run as it stands: joins
// (inner, left, full outer, cross), CASE, COUNT, COUNT(DISTINCT), SUM, MIN, MAX,
// COALESCE, CAST, UNION [ALL], string ||, and boolean columns in WHERE. No engine
// function appears in them; the window dates they need are staged with the frame. A
// test refuses any DuckDB-only construct in them (sql_test.go).
//
// What differs between engines is only how a logical relation is bound to Parquet and
// how a result is written. That is the small table below (Dialects): DuckDB binds a
// relation to a list of files with read_parquet; Spark SQL to files with parquet.`path`;
// Trino to an external Hive table per lake directory (its columns from the layout).

//go:embed sql/*.sql
var sqlFS embed.FS

// Query returns the text of one of the linkage's SQL files by name (without .sql).
func Query(name string) (string, error) {
	b, err := sqlFS.ReadFile("sql/" + name + ".sql")
	if err != nil {
		return "", fmt.Errorf("linkage: no query %s: %w", name, err)
	}
	return string(b), nil
}

// Queries lists the names of the SQL files.
func Queries() []string {
	ents, _ := sqlFS.ReadDir("sql")
	var out []string
	for _, e := range ents {
		out = append(out, strings.TrimSuffix(e.Name(), ".sql"))
	}
	sort.Strings(out)
	return out
}

// Relation binds one logical relation to Parquet: files for DuckDB and Spark, the
// directories holding them for Trino.
type Relation struct {
	Name      string
	Layout    *schemas.Layout
	Locations []string
	// Lenient: some files lack nullable columns of the layout (lake objects written
	// before the columns were added), which read as NULL. (DuckDB needs telling; Spark
	// merges the files' schemas, as its script's preamble sets; Trino reads Parquet
	// columns by name, a missing one as NULL.)
	Lenient bool
}

// Dialect is how one engine binds a relation and writes a result.
type Dialect struct {
	Name string
	// Type names a column type, for the casts that give each output its declared types.
	Type func(schemas.Type) string
	// Preamble starts a script (Trino: the schema the unqualified names resolve in).
	Preamble string
	// Bind returns the statements that make r queryable under r.Name.
	Bind func(r Relation) []string
	// Materialise returns the statement that computes a shared intermediate relation
	// once, for the queries after it to read.
	Materialise func(name, query string) string
	// View returns the statement that names a query, computed within each query that
	// reads it (the relations in Views).
	View func(name, query string) string
	// Create returns the statement that stores a query's result as Parquet at location.
	Create func(table, location, query string) string
}

// Materialised are the intermediate relations every release computes once, in order,
// before its queries: each is the SQL file of its name. Those in Views are views in
// every engine (Dialect.View), computed within each query that reads them.
var Materialised = []string{"superseded_records", "current_activity", "current_diagnoses", "linked_pairs", "cohort_activity"}

// Views are the Materialised relations no engine stores: activity and diagnoses but the
// superseded rows, each read once or twice, in queries that keep only a part of them.
var Views = map[string]bool{"current_activity": true, "current_diagnoses": true}

// unsuperseded maps each relation that leaves out the superseded rows (superseded_records)
// to the relation it is otherwise the whole of: when nothing is superseded, the DuckDB
// engine binds it to that relation, so its readers neither join the rows to
// superseded_records nor read their ids (the longest text of every row) to do it.
var unsuperseded = map[string]string{"current_activity": "activity", "current_diagnoses": "diagnoses"}

// lazyInDuckDB are the Materialised relations DuckDB keeps as views, computed within
// each query that reads them: cohort_activity is read by linked_respondents once and by
// each dataset's export with a filter on the dataset, which DuckDB pushes through the
// join into the Parquet scan (each lake file holds one dataset, so the others' files
// are skipped by their statistics). Storing it as a table cost more than both
// computations together: an in-memory table of a few million rows with text columns
// is slow to build.
var lazyInDuckDB = map[string]bool{"cohort_activity": true}

// Dialects are the engines the SQL is written for.
var Dialects = map[string]Dialect{
	"duckdb": {
		Name: "duckdb",
		Type: duckType,
		Bind: func(r Relation) []string {
			if len(r.Locations) == 0 {
				return []string{fmt.Sprintf("CREATE OR REPLACE TEMP VIEW %s AS %s", r.Name, emptySelect(r.Layout, duckType))}
			}
			q := make([]string, len(r.Locations))
			for i, l := range r.Locations {
				if strings.HasSuffix(l, "/") {
					l += "*.parquet" // a lake directory
				}
				q[i] = sqlQuote(l)
			}
			if r.Lenient {
				// The empty relation of the layout's columns, united by name, gives a column
				// no file has.
				return []string{fmt.Sprintf("CREATE OR REPLACE TEMP VIEW %s AS SELECT %s FROM (SELECT * FROM read_parquet([%s], union_by_name = true) UNION ALL BY NAME %s)",
					r.Name, r.Layout.SelectList(), strings.Join(q, ", "), emptySelect(r.Layout, duckType))}
			}
			return []string{fmt.Sprintf("CREATE OR REPLACE TEMP VIEW %s AS SELECT %s FROM read_parquet([%s])",
				r.Name, r.Layout.SelectList(), strings.Join(q, ", "))}
		},
		Materialise: func(name, query string) string {
			if lazyInDuckDB[name] {
				return fmt.Sprintf("CREATE OR REPLACE TEMP VIEW %s AS\n%s", name, query)
			}
			return fmt.Sprintf("CREATE OR REPLACE TEMP TABLE %s AS\n%s", name, query)
		},
		View: func(name, query string) string {
			return fmt.Sprintf("CREATE OR REPLACE TEMP VIEW %s AS\n%s", name, query)
		},
		Create: func(table, location, query string) string {
			return fmt.Sprintf("COPY (%s) TO %s (FORMAT parquet, COMPRESSION zstd)", query, sqlQuote(location))
		},
	},
	"spark": {
		Name: "spark",
		Type: sparkType,
		// A lake directory may hold objects written before a nullable column was added
		// (the activity's record_key and source_order): merging the files' schemas reads
		// it as NULL in those.
		Preamble: "SET spark.sql.parquet.mergeSchema = true",
		Bind: func(r Relation) []string {
			if len(r.Locations) == 0 {
				return []string{fmt.Sprintf("CREATE OR REPLACE TEMPORARY VIEW %s AS %s", r.Name, emptySelect(r.Layout, sparkType))}
			}
			parts := make([]string, len(r.Locations))
			for i, l := range r.Locations {
				parts[i] = fmt.Sprintf("SELECT %s FROM parquet.`%s`", backquoted(r.Layout), l)
			}
			return []string{fmt.Sprintf("CREATE OR REPLACE TEMPORARY VIEW %s AS\n%s", r.Name, strings.Join(parts, "\nUNION ALL\n"))}
		},
		Materialise: func(name, query string) string {
			return fmt.Sprintf("CACHE TABLE %s AS\n%s", name, query)
		},
		View: func(name, query string) string {
			return fmt.Sprintf("CREATE OR REPLACE TEMPORARY VIEW %s AS\n%s", name, query)
		},
		Create: func(table, location, query string) string {
			return fmt.Sprintf("INSERT OVERWRITE DIRECTORY '%s' USING parquet\n%s", location, query)
		},
	},
	"trino": {
		Name:     "trino",
		Type:     trinoType,
		Preamble: "USE hive.ice_linkage",
		Bind: func(r Relation) []string {
			var stmts, parts []string
			for i, l := range r.Locations {
				if !strings.HasSuffix(l, "/") {
					l = l[:strings.LastIndex(l, "/")+1] // Trino reads a table's directory
				}
				t := fmt.Sprintf("hive.ice_linkage.%s_%d", r.Name, i)
				cols := make([]string, len(r.Layout.Columns))
				for j, c := range r.Layout.Columns {
					cols[j] = fmt.Sprintf("%s %s", c.Name, trinoType(c.Type))
				}
				stmts = append(stmts, fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s (%s) WITH (external_location = '%s', format = 'PARQUET')",
					t, strings.Join(cols, ", "), l))
				parts = append(parts, fmt.Sprintf("SELECT %s FROM %s", r.Layout.SelectList(), t))
			}
			if len(parts) == 0 {
				parts = []string{emptySelect(r.Layout, trinoType)}
			}
			return append(stmts, fmt.Sprintf("CREATE OR REPLACE VIEW hive.ice_linkage.%s AS\n%s", r.Name, strings.Join(parts, "\nUNION ALL\n")))
		},
		// Trino keeps no temporary tables: an intermediate relation is a view (computed
		// again by each query that reads it), or, where the catalog allows, a table in the
		// memory connector.
		Materialise: func(name, query string) string {
			return fmt.Sprintf("CREATE OR REPLACE VIEW hive.ice_linkage.%s AS\n%s", name, query)
		},
		View: func(name, query string) string {
			return fmt.Sprintf("CREATE OR REPLACE VIEW hive.ice_linkage.%s AS\n%s", name, query)
		},
		Create: func(table, location, query string) string {
			return fmt.Sprintf("CREATE TABLE hive.ice_linkage.%s WITH (external_location = '%s', format = 'PARQUET') AS\n%s", table, location, query)
		},
	},
}

// materialise is the statement that makes the Materialised relation name: a view when
// it is one of Views.
func (d Dialect) materialise(name, query string) string {
	if Views[name] {
		return d.View(name, query)
	}
	return d.Materialise(name, query)
}

func sqlQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func backquoted(l *schemas.Layout) string {
	q := make([]string, len(l.Columns))
	for i, c := range l.Columns {
		q[i] = "`" + c.Name + "`"
	}
	return strings.Join(q, ", ")
}

// emptySelect is a query of no rows with the layout's columns and types.
func emptySelect(l *schemas.Layout, typ func(schemas.Type) string) string {
	cols := make([]string, len(l.Columns))
	for i, c := range l.Columns {
		cols[i] = fmt.Sprintf("CAST(NULL AS %s) AS %s", typ(c.Type), c.Name)
	}
	return "SELECT " + strings.Join(cols, ", ") + " WHERE 1 = 0"
}

func duckType(t schemas.Type) string { return t.DuckDB() }

func sparkType(t schemas.Type) string {
	return [...]string{"STRING", "INT", "BIGINT", "DOUBLE", "BOOLEAN", "DATE", "TIMESTAMP"}[t]
}

func trinoType(t schemas.Type) string {
	return [...]string{"VARCHAR", "INTEGER", "BIGINT", "DOUBLE", "BOOLEAN", "DATE", "TIMESTAMP(6) WITH TIME ZONE"}[t]
}

// PortableScript is the whole linkage of one release as a script for a distributed
// engine ("spark" or "trino"; "duckdb" gives what BuildRelease runs), over the lake and
// the staged relations under root (a URI such as s3://bucket/prefix/). The queries are
// the SQL files unchanged, each wrapped in a select list of its layout's columns cast to
// their declared types; only the bindings, the materialisations, the type names and the
// writes differ. The accuracy table needs the synthetic truth bound as "truth". The staged
// relations (frame, answers, measure_map, codelist, datasets) are written by
// StageRelations to the restricted area first: they hold the project pseudonym beside
// the release pseudonym and must be deleted when the run ends.
func PortableScript(dialect, root, wave, release string, defs *Definitions) (string, error) {
	d, ok := Dialects[dialect]
	if !ok {
		return "", fmt.Errorf("linkage: no dialect %q (duckdb, spark, trino)", dialect)
	}
	root = strings.TrimSuffix(root, "/") + "/"
	stage := root + StagePrefix(wave, release)
	var b strings.Builder
	fmt.Fprintf(&b, "-- Linkage of wave %s, release %s, for %s. Generated by package linkage from sql/*.sql.\n", wave, release, dialect)
	if d.Preamble != "" {
		b.WriteString(d.Preamble + ";\n\n")
	}
	var activity []string
	for _, id := range defs.IDs() {
		activity = append(activity, root+schemas.LinkageActivityPrefix(id, wave))
	}
	for _, r := range append(stagedRelations(stage),
		Relation{Name: "activity", Layout: schemas.LinkageActivityLayout(), Locations: activity},
		Relation{Name: "diagnoses", Layout: schemas.LinkageDiagnosisLayout(), Locations: []string{root + schemas.LinkageDiagnosesPrefix(wave)}}) {
		for _, s := range d.Bind(r) {
			b.WriteString(s + ";\n\n")
		}
	}
	for _, name := range Materialised {
		text, err := Query(name)
		if err != nil {
			return "", err
		}
		b.WriteString(d.materialise(name, strings.TrimSpace(text)) + ";\n\n")
	}
	for _, o := range append(releaseOutputs(defs), accuracyOutput) {
		stmt, err := o.statement(d.Type, nil, release, wave)
		if err != nil {
			return "", err
		}
		b.WriteString(d.Create(o.table, root+schemas.LinkedPartition(o.table, wave, release), stmt) + ";\n\n")
	}
	return b.String(), nil
}

// StagePrefix is where StageRelations puts the staged relations of a release for a
// distributed engine (restricted).
func StagePrefix(wave, release string) string {
	return schemas.LinkageRestrictedPrefix(wave) + "stage/" + release + "/"
}

// stagedRelations binds the staged relations to their files under dir: one directory
// per relation (a Trino table is a directory).
func stagedRelations(dir string) []Relation {
	var out []Relation
	for _, r := range stagedLayouts() {
		out = append(out, Relation{Name: r.Name, Layout: r.Layout, Locations: []string{dir + r.Name + "/part-0.parquet"}})
	}
	return out
}

func stagedLayouts() []Relation {
	return []Relation{
		{Name: "frame", Layout: schemas.LinkageFrameLayout()},
		{Name: "answers", Layout: schemas.LinkageAnswerLayout()},
		{Name: "measure_map", Layout: schemas.LinkageMeasureLayout()},
		{Name: "codelist", Layout: schemas.LinkageCodeLayout()},
		{Name: "datasets", Layout: schemas.LinkageDatasetLayout()},
	}
}

// constant is a value every row of an output has the same (the wave, the release, the
// dataset, the source file and its checksum).
type constant string

// duckDB is the constant as DuckDB writes it to Parquet cheaply, as a column of type t.
// Text is a one-value ENUM: the file holds the same column as for a VARCHAR (UTF-8 text,
// dictionary-encoded, the same statistics) and reads back as the same text, but the
// writer takes its one-entry dictionary from the type instead of hashing the value
// once per row to build it, which took about a fifth of writing a validated extract's
// accepted rows, and as much of a release's activity exports. (The column has no bloom
// filter, which for a column of one value says nothing.)
func (k constant) duckDB(t schemas.Type) string {
	q := sqlQuote(string(k))
	if t == schemas.String {
		return fmt.Sprintf("CAST(%s AS ENUM(%s))", q, q)
	}
	return fmt.Sprintf("CAST(%s AS %s)", q, t.DuckDB())
}
