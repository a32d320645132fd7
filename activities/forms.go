package activities

import "icesurvey/pseudo"

// The forms of the identifiers a person types into an update, for the workflows'
// validators: a value that is not of its form (an NHS number or a name typed for a
// survey record id) is refused before the update reaches the history, and not repeated.
// The workflows reach package pseudo only through these.

// SurveyRecordIDLen is the length of a survey record id (S and its letters and digits).
const SurveyRecordIDLen = pseudo.SurveyRecordIDLen

// IsSurveyRecordID reports whether s has the form of a survey record id.
func IsSurveyRecordID(s string) bool { return pseudo.IsSurveyRecordID(s) }

// IsAccessCode reports whether s has the form of an access code (XXXX-XXXX-XXXX, as a
// person may type it).
func IsAccessCode(s string) bool {
	_, ok := pseudo.NormaliseAccessCode(s)
	return ok
}
