// Package publication builds a release of the ICE Survey's published comparable data
// from a read-only snapshot of the warehouse (PUBLICATION.md is the method, and it is
// normative; issue #14).
//
// Compute reads the snapshot in a few set-based queries — each ICS's eligible frame
// (the declared sample less the deceased and the ineligible) by age band, gender,
// ethnic group and eFI band; the outcome counts; each respondent's frame
// characteristics and answers, one row per completed questionnaire — then weights each
// ICS's patients by bounded raking to its frame (package weighting), tallies every
// closed question of every questionnaire version the wave used and every bank question
// an ICS added, by ICS, by demographic group within each ICS and for England (package
// estimate), compares each row with England excluding its ICS, and puts every table
// through disclosure control (package disclosure). Carers have no frame: their figures
// are unweighted and published by ICS and for England. The response rates come from
// the same outcome codes as the warehouse's outcomes view. The dashboard reads the
// same Results.
//
// Write writes a release's draft under drafts/{wave}/{release}/ (keys from package
// schemas; never under publish/, which the public reads): results,
// distributions and response rates as CSV and one XLSX workbook for people (in the GP
// Patient Survey's shape, with a notes sheet), as Parquet for machines (unrounded, the
// warehouse's published_* tables), metadata.json (every parameter, each ICS's
// weighting, what was withheld, the lineage of every table to its lake objects as one
// SHA-256 over theirs — naming no object, for a late opt-out's names the person — and
// the code version) and manifest.json (every file's SHA-256). Approve moves a
// release's metadata from draft to published; Publish then copies the draft to
// publish/{wave}/{release}/, its status and manifest last.
//
// What it guarantees:
//   - Nothing withheld is written. Every figure of a Results comes out of a
//     *disclosure.Checked table through its accessors, which refuse withheld values;
//     Results is made only by Compute and Write accepts only a Results, so an unchecked
//     table cannot reach a file by its type. Withheld figures carry no value (Figure,
//     Count) and show as their status mark.
//   - Beyond each table's own audit, the release avoids facts that link tables: a
//     demographic group's counts are not published (they add up to its ICS's), England
//     is published as percentages only unless Params.EnglandCounts, and an unweighted
//     England row (carers, response rates), whose percentages are ratios of the by-ICS
//     column totals, is published only when every total is (those tables are checked
//     with column totals).
//   - What the tables' audits cannot see, and is left as it is: weighted percentages
//     link tables too (England's, or an ICS's, is a weighted mean of its parts'), so
//     an ICS's withheld weighted percentage could in principle be worked back from
//     England's and the other ICSs' published ones — never its count, since weights
//     are not published. Response rates group the outcome codes (completed; not
//     reached: 2, 3, 5; not responded: 4, 6) so a small count of deaths is never a
//     cell.
//   - Reproducible: the same snapshot contents and Params give byte-identical files
//     (sorted rows and keys, deterministic Parquet, an XLSX with pinned times and entry
//     order); the figures agree with R's survey package to 1e-9 (crosscheck_test.go).
//   - Every bad input is an error naming the table, ICS, record or response, and field.
//
// Privacy: Compute reads pseudonymous survey record ids and answers from the analysts'
// warehouse, never names, addresses, NHS numbers or free text, and its errors name a
// record only by its pseudonymous id. What it returns and writes is aggregate figures
// that passed the small-number rule; the publish prefix becomes public on approval.
package publication
