package schemas

import "time"

// MailingEvent records one message of one mailing to one person (pseudonymised: the
// person is named by survey record id only).
type MailingEvent struct {
	Reference      string    `col:"reference,key,doc=deterministic message reference (wave ics record step)"`
	WaveID         string    `col:"wave_id"`
	ICS            string    `col:"ics"`
	SurveyRecordID string    `col:"survey_record_id"`
	Step           string    `col:"step,doc=mailing step name e.g. invitation or sms1"`
	Channel        string    `col:"channel,doc=letter or sms"`
	SentAt         time.Time `col:"sent_at,doc=when the send began (the print file or SMS batch)"`
	Result         string    `col:"result,doc=queued-for-print; sent; then from the delivery receipt delivered or temporary-failure or permanent-failure; or receipt-expired when Notify no longer holds the message"`
}

// Results of a message in the mailing history (MailingEvent.Result).
const (
	// ResultQueuedForPrint: the letter is in the print file handed to the supplier.
	ResultQueuedForPrint = "queued-for-print"
	// ResultSent: GOV.UK Notify accepted the SMS.
	ResultSent = "sent"
	// ResultPermanentFailure: the SMS failed for good (the number is no mobile or is
	// dead): the person gets no more SMS, and the message reached nobody.
	ResultPermanentFailure = "permanent-failure"
	// ResultDelivered: Notify's delivery receipt says the SMS was delivered (#13 item 4).
	ResultDelivered = "delivered"
	// ResultTemporaryFailure: the SMS did not reach the phone (temporary-failure, or
	// Notify's technical-failure). The person stays in the next SMS step's selection; the
	// message is never re-sent within its own step.
	ResultTemporaryFailure = "temporary-failure"
	// ResultReceiptExpired: Notify no longer holds the SMS (GET by id answers 404
	// NoResultFound: deleted after the service's data retention period, or forgotten by
	// a simulator), so whether it reached the phone is unknown, and will stay so. It is
	// final, and counts as sent, as a "sent" does: the message may have reached the
	// person, who stays in the next SMS step's selection (only a permanent-failure
	// leaves them out) and counts as contacted.
	ResultReceiptExpired = "receipt-expired"
)

// MailingEventLayout is the lake/warehouse layout of the mailing history.
func MailingEventLayout() *Layout { return LayoutOf[MailingEvent](string(LakeMailingHistory)) }

// Selection is one person chosen for a mailing at the moment it fell due.
type Selection struct {
	SurveyRecordID string `col:"survey_record_id,key"`
}

// SelectionLayout is the layout of a mailing's recipient list.
func SelectionLayout() *Layout { return LayoutOf[Selection](string(LakeMailingSelection)) }

// FinalOutcome is one sampled person's outcome code when fieldwork closed: the closing
// record of the wave, written to the lake once.
type FinalOutcome struct {
	SurveyRecordID string `col:"survey_record_id,key"`
	WaveID         string `col:"wave_id"`
	ICS            string `col:"ics"`
	Outcome        int32  `col:"outcome"`
}

// FinalOutcomeLayout is the lake layout of the final outcomes.
func FinalOutcomeLayout() *Layout { return LayoutOf[FinalOutcome](string(LakeFinalOutcomes)) }
