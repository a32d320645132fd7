// Package profiles holds the Healthwatch health and care experience profiles as data
// (defs/*.yaml, embedded, one file per profile; SPEC §10, issue #17 item 6), with the
// definitions analysts put in force at run time in the store (Define, InForce, Lookup:
// the latest definition of an id stands in place of the built-in one), and the
// logic around them: validation, a profile's cohort as SQL and as a Go
// predicate, the age of evidence, and synthetic focus-group notes.
//
// # What it produces
//
//   - Profile (All, Get, Parse, LoadFS): characteristics (a description and a Cohort),
//     rationale, expected care (statements with source, level national or local,
//     status in place, aspirational or to be recorded, date, related themes and
//     survey questions), evidence (source, date, summary), qualitative sessions (focus
//     group of 5–8 or 1:1 interview, date, participants, consent recorded, the
//     transcript's key in the free-text area, codebook version), the stakeholder audit
//     (consulted, did not engage, not yet contacted) and the action plan. Validation
//     names the file and field (south-asian-diabetes.yaml: expected_care[1].level: …);
//     question ids are checked against the questionnaire catalogue and themes against
//     the codebook.
//   - The five profiles the methodology names, with national expectations only where
//     the source is certain (NICE NG43, NG28, NG27, NG96, NG56, NG197, NG106, CG172)
//     and every other expectation left "to be recorded by the local team".
//   - Cohort.Where: a DuckDB WHERE clause over `sample s JOIN current_responses r`
//     (age_band, ethnicity, efi_band, gender, respondent_type and answer columns named
//     as in schemas), with linked condition flags written by a caller-supplied
//     expression once linkage exists and listed as unevaluated until then;
//     Cohort.Match: the same decision in Go. Tests run both over a DuckDB database
//     built from the warehouse layouts and require the same rows.
//   - Evidence.Stale, Profile.Warnings: insight older than three years at a reference
//     date (a partial date counts as its last possible day), aspirational or
//     unrecorded expectations, stakeholders who did not engage, no sessions yet — the
//     limitations a report must state.
//   - SynthSession: deterministic synthetic session notes for a profile (`ice synth
//     sessions`), carrying each theme at a stated rate and personal data to redact,
//     with the truth of each line for tests and the demo.
//
// # Privacy rules
//
// Profiles hold no personal data: a facilitator is recorded by role, a session by its
// transcript key, never its content. Transcripts and notes (synthetic ones too, since
// they contain personal data by design) are written only to the free-text area and
// read through freetext. Counts from a cohort go through the publication's
// disclosure rules before anyone sees them; this package computes none.
package profiles
