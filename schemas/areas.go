package schemas

import (
	"encoding/json"
	"fmt"
	"strings"
)

// AreaInfo declares one store area: who may read it, who writes it, what it holds and
// what the retention does to it. Areas is the one declaration; the README's table of
// store areas and its example bucket policies are generated from it (AreasREADME), and
// the end-to-end test checks every key a wave writes against it.
type AreaInfo struct {
	Area Area
	// Readers is who may read the area, in words; ReaderRoles the IAM roles they
	// assume (none when Public).
	Readers     string
	ReaderRoles []string
	// Public areas are readable by anyone.
	Public bool
	// WriterRoles may put objects in the area besides the pipeline's worker.
	WriterRoles []string
	Holds       string
	// Identifiable areas may hold a name, address, phone number, date of birth or NHS
	// number (or free text, which may hold any of them).
	Identifiable bool
	// AtRetention says what the retention of an ICS does to its objects in the area.
	AtRetention string
}

// WorkerRole is the role the pipeline's workers run as: they write every area and
// read every area they write.
const WorkerRole = "ice-worker"

// Areas declares every area of the store, in the order of the README's table.
var Areas = []AreaInfo{
	{Area: AreaLanding, Readers: "data engineers", ReaderRoles: []string{"ice-data-engineer"},
		WriterRoles: []string{"ice-data-engineer"},
		Holds:       "files received with no personal data", AtRetention: "kept"},
	{Area: AreaRestrictedLanding, Readers: "the intake and the daily load (worker); named data engineers handling identifiable files",
		ReaderRoles: []string{"ice-restricted-landing"}, WriterRoles: []string{"ice-ics-upload", "ice-survey-supplier"},
		Holds:        "sample and mailing files as received and their rejection reports; the supplier's daily extracts (free text); linkage extracts (until the linkage run that validates them has built its release)",
		Identifiable: true, AtRetention: "deleted (SHA-256, size and rows kept in the audit trail); linkage extracts are deleted by the run that validated them, lineage kept in reports/linkage/{wave}/extract-lineage.json"},
	{Area: AreaRestricted, Readers: "the mailing process only (worker)",
		Holds:        "contacts, DBS requests and replies, print files and manifests, the SMS ledger and the delivery statuses other ICSs' listings read, the MESH ledger",
		Identifiable: true, AtRetention: "deleted"},
	{Area: AreaFreeText, Readers: "named ICB users only", ReaderRoles: []string{"ice-free-text-reader"},
		Holds:        "free-text answers, by wave, ICS and load date",
		Identifiable: true, AtRetention: "kept (redacted before it is shown; every read audited)"},
	{Area: AreaLake, Readers: "analysts (and the warehouse, which is derived from it)", ReaderRoles: []string{"ice-analyst"},
		Holds: "pseudonymised analysis data (Parquet), the compacted audit trail, and each release's internal lineage (the lake objects it was computed from, by key: a late opt-out's names the person)", AtRetention: "kept"},
	{Area: AreaPublish, Readers: "everyone", Public: true,
		Holds: "approved releases of comparable data (suppressed)", AtRetention: "kept"},
	{Area: AreaDrafts, Readers: "the publication team (analysts, who see drafts in the warehouse) and data engineers", ReaderRoles: []string{"ice-analyst", "ice-data-engineer"},
		Holds: "draft releases of comparable data (suppressed) awaiting approval, and drafts refused or superseded; approval copies a release to publish/", AtRetention: "kept"},
	{Area: AreaReports, Readers: "data engineers", ReaderRoles: []string{"ice-data-engineer"},
		Holds: "declarations, response-load markers, retention lineage, linkage quality reports, each release's internal weighting report (the counts a release does not publish)", AtRetention: "kept"},
	{Area: AreaAudit, Readers: "auditors", ReaderRoles: []string{"ice-auditor"},
		Holds: "audit events not yet compacted into the lake", AtRetention: "kept (compacted into the lake)"},
	{Area: AreaExchange, Readers: "the mailing process (worker) and the DBS responder", ReaderRoles: []string{"ice-dbs-exchange"},
		WriterRoles:  []string{"ice-dbs-exchange"},
		Holds:        "the DBS file drop: requests out, replies in",
		Identifiable: true, AtRetention: "the ICS's requests and replies deleted"},
	{Area: AreaExport, Readers: "the linkage release's recipients", ReaderRoles: []string{"ice-udal-export"},
		Holds: "UDAL-style exports of consented linkage (release pseudonyms)", AtRetention: "kept"},
	{Area: AreaSim, Readers: "data engineers (dev stack only; never in a production bucket)", ReaderRoles: []string{"ice-data-engineer"},
		Holds: "the simulators' inputs (ice dev keeps its simulated outside world, the DBS and its registers of deaths, one per ICS, in a store of its own: .ice/outside)", AtRetention: "kept"},
}

// AreaOf returns the declared area a key lies in.
func AreaOf(key string) (AreaInfo, bool) {
	for _, a := range Areas {
		if strings.HasPrefix(key, a.Area.Prefix()) {
			return a, true
		}
	}
	return AreaInfo{}, false
}

// Example account and bucket of the README's bucket policies.
const (
	exampleAccount = "111122223333"
	exampleBucket  = "ice-survey-store"
)

func roleARN(role string) string { return "arn:aws:iam::" + exampleAccount + ":role/" + role }

func sid(a Area) string {
	var b strings.Builder
	for _, w := range strings.FieldsFunc(string(a), func(r rune) bool { return r == '-' }) {
		b.WriteString(strings.ToUpper(w[:1]) + w[1:])
	}
	return b.String()
}

// BucketPolicy is an example S3 bucket policy for one area: its readers may get its
// objects, its writers put them, and a deny stops every other principal reading it
// (whatever their identity policies say). The worker role is among the readers and
// writers of every area.
func BucketPolicy(a AreaInfo) string {
	resource := "arn:aws:s3:::" + exampleBucket + "/" + a.Area.Prefix() + "*"
	type stmt struct {
		Sid       string         `json:"Sid"`
		Effect    string         `json:"Effect"`
		Principal any            `json:"Principal"`
		Action    any            `json:"Action"`
		Resource  string         `json:"Resource"`
		Condition map[string]any `json:"Condition,omitempty"`
	}
	arns := func(roles []string) []string {
		out := []string{roleARN(WorkerRole)}
		for _, r := range roles {
			out = append(out, roleARN(r))
		}
		return out
	}
	readers := arns(a.ReaderRoles)
	writers := arns(a.WriterRoles)
	var st []stmt
	if a.Public {
		st = append(st, stmt{Sid: "Read" + sid(a.Area), Effect: "Allow", Principal: "*", Action: "s3:GetObject", Resource: resource})
	} else {
		st = append(st,
			stmt{Sid: "Read" + sid(a.Area), Effect: "Allow", Principal: map[string]any{"AWS": readers}, Action: "s3:GetObject", Resource: resource},
			stmt{Sid: "NoOtherReaders" + sid(a.Area), Effect: "Deny", Principal: "*", Action: "s3:GetObject", Resource: resource,
				Condition: map[string]any{"StringNotLike": map[string]any{"aws:PrincipalArn": readers}}})
	}
	st = append(st,
		stmt{Sid: "Write" + sid(a.Area), Effect: "Allow", Principal: map[string]any{"AWS": writers}, Action: []string{"s3:PutObject", "s3:DeleteObject"}, Resource: resource},
		stmt{Sid: "NoOtherWriters" + sid(a.Area), Effect: "Deny", Principal: "*", Action: []string{"s3:PutObject", "s3:DeleteObject"}, Resource: resource,
			Condition: map[string]any{"StringNotLike": map[string]any{"aws:PrincipalArn": writers}}})
	b, err := json.MarshalIndent(map[string]any{"Version": "2012-10-17", "Statement": st}, "", "  ")
	if err != nil {
		panic(err) // plain maps and strings always marshal
	}
	return string(b)
}

// README markers around the generated section.
const (
	AreasREADMEBegin = "<!-- store-areas: generated from schemas.Areas (go test ./schemas -run TestREADMEStoreAreas -update) -->"
	AreasREADMEEnd   = "<!-- store-areas: end -->"
)

// AreasREADME is the README's section on store areas, between its markers: a table of
// the areas and an example bucket policy per area.
func AreasREADME() string {
	var b strings.Builder
	b.WriteString(AreasREADMEBegin + "\n\n")
	b.WriteString("| Prefix | Who may read it | What it holds | Personal data | At retention |\n|---|---|---|---|---|\n")
	for _, a := range Areas {
		personal := "no"
		if a.Identifiable {
			personal = "**yes**"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", a.Area.Prefix(), a.Readers, a.Holds, personal, a.AtRetention)
	}
	b.WriteString("\nThe warehouse (DuckDB, derived from `lake/`) is read by analysts; it holds nothing identifiable.\n")
	b.WriteString("An example bucket policy per area (account " + exampleAccount + ", bucket " + exampleBucket +
		"; the worker runs as `" + WorkerRole + "`). Apply them as statements of one bucket policy.\n")
	for _, a := range Areas {
		fmt.Fprintf(&b, "\n<details><summary><code>%s</code></summary>\n\n```json\n%s\n```\n\n</details>\n", a.Area.Prefix(), BucketPolicy(a))
	}
	b.WriteString("\n" + AreasREADMEEnd)
	return b.String()
}
