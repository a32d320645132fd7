package audit

import (
	"slices"
	"strings"
)

// Kinds lists every kind of event the trail holds: the activity attempt and each
// domain event a stage or ice records. A kind with a dot is a sub-kind of what comes
// before it (intake.file_received of intake). TestKindsListsEveryRecordedKind keeps
// the list whole: a kind recorded in the code and missing here fails it.
var Kinds = []string{
	KindActivityAttempt,
	"dbs_applied",
	"dbs_nhs_number_superseded",
	"dbs_reply_reconciled",
	"dbs_reply_rejected",
	"dbs_request_submitted",
	KindDeadWorkerAttempt,
	"declaration_signed",
	"delivery_receipts",
	KindFieldworkEndedEarly,
	"fieldwork_closed",
	"free_text_coded",
	"free_text_export",
	"free_text_refused",
	"identifiable_data_deleted",
	"intake.file_received",
	"intake.outputs_written",
	"intake.reconciled",
	"intake.reconciliation_failed",
	"intake.records_classified",
	"landed_file_lineage",
	"landed_files_deleted_after_retention",
	"late_opt_out",
	"letter_batch", // mailing: the channel's name + "_batch"
	"linkage_aggregates_disclosed",
	"linkage_consent_derived",
	"linkage_consent_withdrawn",
	"linkage_exported",
	"linkage_extract_deleted",
	"linkage_extract_lineage",
	"linkage_extract_validated",
	"linkage_landing_not_validated",
	"linkage_release_built",
	"linkage_release_loaded",
	"linkage_releases_retired",
	"linkage_withdrawn_purged",
	"mailing_sent",
	"nhs_numbers_superseded",
	"print_file_unchanged",
	"print_file_written",
	"profile_quote_chosen",
	"profile_quote_withdrawn",
	"profile_report",
	"profile_verdict",
	"recipients_selected",
	"release_already_published",
	"release_drafted",
	"release_published",
	"response_file_loaded",
	"response_file_skipped",
	"responses_after_closing_record",
	"responses_loaded",
	"responses_reconciled",
	"responses_simulated",
	"sms_batch",
	"theme_decisions",
	"warehouse_load",
	"warehouse_reloaded",
}

// KnownKind reports whether k names a kind of Kinds, or the parent of dotted
// sub-kinds ("intake").
func KnownKind(k string) bool {
	return slices.ContainsFunc(Kinds, func(known string) bool {
		return known == k || strings.HasPrefix(known, k+".")
	})
}

// KindsStartingWith lists the kinds of Kinds that start with prefix, for a reader who
// typed a family's start ("linkage") rather than a kind.
func KindsStartingWith(prefix string) []string {
	var out []string
	for _, k := range Kinds {
		if prefix != "" && strings.HasPrefix(k, prefix) {
			out = append(out, k)
		}
	}
	return out
}
