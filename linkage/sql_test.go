package linkage_test

import (
	"regexp"
	"strings"
	"testing"

	"icesurvey/linkage"
)

// DuckDB-only (or otherwise non-portable) constructs the linkage SQL must not use: it
// runs unchanged on Spark SQL and Trino.
var unportable = []struct{ what, re string }{
	{"DuckDB's :: cast", `::`},
	{"GROUP BY ALL", `(?i)group\s+by\s+all`},
	{"ORDER BY ALL", `(?i)order\s+by\s+all`},
	{"FILTER (WHERE …)", `(?i)filter\s*\(\s*where`},
	{"QUALIFY", `(?i)\bqualify\b`},
	{"a table function over files", `(?i)read_(parquet|csv|json)`},
	{"DuckDB list functions", `(?i)\b(list_\w+|unnest|string_split|array_agg)\s*\(`},
	{"arg_max/arg_min", `(?i)\barg_(max|min)\s*\(`},
	{"date functions that differ by engine", `(?i)\b(date_diff|datediff|date_add|dateadd|date_sub|date_trunc|strftime|strptime|epoch|make_date|add_months|months_between)\s*\(`},
	{"interval arithmetic", `(?i)\binterval\b`},
	{"ILIKE", `(?i)\bilike\b`},
	{"EXCLUDE/REPLACE in SELECT *", `(?i)\*\s*(exclude|replace)\b`},
	{"double-quoted string or identifier", `"`},
	{"struct or list literal", `[\[\]{}]`},
	{"TRY_CAST", `(?i)try_cast`},
	{"IF()/IIF()", `(?i)\b(iif|if)\s*\(`},
	{"a regexp function", `(?i)regexp_`},
	{"positional GROUP BY", `(?i)group\s+by\s+\d`},
}

func TestSQLIsPortable(t *testing.T) {
	names := linkage.Queries()
	if len(names) < 8 {
		t.Fatalf("queries: %v", names)
	}
	for _, name := range names {
		q, err := linkage.Query(name)
		if err != nil {
			t.Fatal(err)
		}
		// Comments may say anything.
		var code strings.Builder
		for _, line := range strings.Split(q, "\n") {
			if i := strings.Index(line, "--"); i >= 0 {
				line = line[:i]
			}
			code.WriteString(line + "\n")
		}
		for _, u := range unportable {
			if loc := regexp.MustCompile(u.re).FindStringIndex(code.String()); loc != nil {
				t.Errorf("%s.sql uses %s: %q", name, u.what, code.String()[loc[0]:loc[1]])
			}
		}
	}
}

func TestPortableScripts(t *testing.T) {
	defs, err := linkage.DefaultDefinitions()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"spark", "trino", "duckdb"} {
		s, err := linkage.PortableScript(d, "s3://ice-lake/prod/", "W1", "R7", defs)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"linked_respondents", "linked_conditions", "quality_match_rates"} {
			q, _ := linkage.Query(name)
			if !strings.Contains(s, strings.TrimSpace(q)) {
				t.Errorf("%s script does not carry %s.sql unchanged", d, name)
			}
		}
		for _, want := range []string{"s3://ice-lake/prod/lake/linkage_apc/wave=W1/", "s3://ice-lake/prod/restricted/linkage/W1/stage/R7/frame/",
			"lake/linked_respondents/wave=W1/release=R7/"} {
			if !strings.Contains(s, want) {
				t.Errorf("%s script lacks %s", d, want)
			}
		}
	}
	if _, err := linkage.PortableScript("oracle", "x", "W1", "R1", defs); err == nil {
		t.Error("an unknown dialect was accepted")
	}
}
