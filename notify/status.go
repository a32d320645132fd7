package notify

// Status is a notification's status as Notify reports it. The Status* constants are
// untyped, so they compare with a Notification's Status string and convert to Status.
type Status string

// More statuses Notify reports (see the Status* constants beside Notification).
const (
	StatusFailed            = "failed"              // deprecated: any failure; as a list filter, every failure status
	StatusPendingVirusCheck = "pending-virus-check" // precompiled letter being scanned
	StatusVirusScanFailed   = "virus-scan-failed"   // precompiled letter refused
	StatusReturnedLetter    = "returned-letter"     // letter came back undelivered
)

// ListStatuses are the statuses the list endpoint filters on, as Notify's
// get_notifications_request schema lists them.
var ListStatuses = []string{
	StatusCancelled, StatusCreated, StatusSending, StatusSent, StatusDelivered, StatusPending, StatusFailed,
	StatusTechnicalFailure, StatusTemporaryFailure, StatusPermanentFailure, StatusPendingVirusCheck,
	StatusValidationFailed, StatusVirusScanFailed, StatusReturnedLetter, StatusAccepted, StatusReceived,
}

// FailureStatuses are what the list filter "failed" stands for.
var FailureStatuses = []string{
	StatusTechnicalFailure, StatusTemporaryFailure, StatusPermanentFailure, StatusValidationFailed,
	StatusVirusScanFailed, StatusReturnedLetter,
}

// Outcome is what a status means for the survey's mailings.
type Outcome int

// Outcomes.
const (
	// OutcomeInFlight: created, sending, pending (SMS), accepted, pending-virus-check
	// (letters). Not final: ask again later.
	OutcomeInFlight Outcome = iota
	// OutcomeDelivered: delivered; sent (an international SMS, which gets no receipt);
	// received (a letter at the printer).
	OutcomeDelivered
	// OutcomePermanentFailure: permanent-failure (the number is not in use), and for
	// letters validation-failed, virus-scan-failed and returned-letter. Send this person
	// nothing more on this channel.
	OutcomePermanentFailure
	// OutcomeRetryNextStep: temporary-failure (the phone was off or out of reach for
	// Notify's 72 hours) and technical-failure (Notify could not hand the message on).
	// This message failed, but the person is reachable: the next step tries again. It
	// is never re-sent within its own step.
	OutcomeRetryNextStep
	// OutcomeCancelled: cancelled before it was sent (letters).
	OutcomeCancelled
	// OutcomeUnknown: a status this client does not know. Treated as not final.
	OutcomeUnknown
)

var outcomeNames = [...]string{"in-flight", "delivered", "permanent-failure", "retry-next-step", "cancelled", "unknown"}

func (o Outcome) String() string {
	if o >= 0 && int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return "unknown"
}

// Final reports whether a notification with this outcome will not change again.
func (o Outcome) Final() bool {
	return o == OutcomeDelivered || o == OutcomePermanentFailure || o == OutcomeRetryNextStep || o == OutcomeCancelled
}

// Classify says what status s means for the mailings (see Outcome).
func Classify(s string) Outcome {
	switch s {
	case StatusCreated, StatusSending, StatusPending, StatusAccepted, StatusPendingVirusCheck:
		return OutcomeInFlight
	case StatusDelivered, StatusSent, StatusReceived:
		return OutcomeDelivered
	case StatusPermanentFailure, StatusValidationFailed, StatusVirusScanFailed, StatusReturnedLetter:
		return OutcomePermanentFailure
	case StatusTemporaryFailure, StatusTechnicalFailure, StatusFailed:
		return OutcomeRetryNextStep
	case StatusCancelled:
		return OutcomeCancelled
	}
	return OutcomeUnknown
}

// Outcome is Classify(s).
func (s Status) Outcome() Outcome { return Classify(string(s)) }

// Final reports whether s will not change again.
func (s Status) Final() bool { return Classify(string(s)).Final() }

// Outcome classifies the notification's status.
func (n Notification) Outcome() Outcome { return Classify(n.Status) }

// FinalStatus reports whether a notification in status s will not change again.
func FinalStatus(s string) bool { return Classify(s).Final() }

// knownListStatus reports whether s may be given to the list endpoint's status filter.
func knownListStatus(s string) bool {
	for _, k := range ListStatuses {
		if s == k {
			return true
		}
	}
	return false
}
