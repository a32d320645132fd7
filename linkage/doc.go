// Package linkage links the survey's consenting respondents to their health and care
// activity, UDAL-style (SPEC §9, issue #15). It knows nothing of Temporal: the linkage
// workflow's activities call it.
//
// What it produces:
//
//   - consent events of a wave (DeriveConsent, WithdrawalByOperator, RecordWithdrawal),
//     in the lake: consent is a record of events, and a person is linked only while
//     their latest patient event is "given" (Latest, Linkable);
//   - validated extracts of the secondary datasets declared in defs/ (ValidateExtract):
//     accepted rows of consenters in the lake, every other row kept as a rejection
//     with its file, row, field and reason; and, at every run, the rows of anyone who
//     may no longer be linked purged from them again (PurgeWithdrawn);
//   - a release (BuildRelease): per consenting respondent, utilisation in the 6 and 12
//     months before their response, treatment burden, condition flags from the
//     versioned code lists in codelists/, their answers and their activity, and the
//     linkage quality report (cohort flow, match rates, consent bias and, for
//     synthetic data, precision and recall);
//   - the UDAL-style export of a release with its manifest (Export), the release's
//     aggregate counts after disclosure control (DiscloseAggregates), and the
//     warehouse tables and views (migration WarehouseVersion, LoadRelease).
//
// What it guarantees: rows read = accepted + rejected + excluded for every extract,
// asserted before anything is stored; an extract keyed by anything but this project's
// pseudonym is refused whole; every release is built afresh from the consent events, so
// a withdrawal removes the person from every output of the next release (and, by the
// run's purge, their activity from the lake's validated extracts), and building a
// release retires the earlier ones; every output is written whole by one Put under a
// deterministic key, so a retried step writes the same objects.
//
// Privacy rules: no NHS number ever reaches this package. The project pseudonym (the
// sample's nhs_pseudonym) is kept only in the lake's validated extracts and in the
// staged frame, a temporary file deleted when the build ends; every linked output,
// export, warehouse table, report, log line and audit event carries release pseudonyms
// at most — a keyed hash per release, so two releases cannot be joined without the
// project key — and never a survey record id, response id or extract row id either.
// Rejections and errors never repeat a value of an extract. The activity of people who
// did not consent is not kept: their rows are excluded at validation. Carers are not
// linked: the survey identifies a carer only through the patient's invitation.
//
// The joins and aggregates are SQL (sql/*.sql) that DuckDB runs here and Spark SQL and
// Trino run unchanged over the same Hive-partitioned Parquet (dialect.go says how).
package linkage
