package schemas

import "time"

// Contact is one person's identifiable details, kept only in the restricted area of the
// store (restricted/...), never in the lake or the warehouse. It joins the ICS's sample
// and mailing files and carries what the DBS trace, the print supplier and Notify need.
// It is deleted after the wave's retention period.
type Contact struct {
	SurveyRecordID string    `col:"survey_record_id,key,doc=our id for the person in this wave"`
	ICSRecordID    string    `col:"ics_record_id,doc=the ICS's RECORD_ID"`
	ICS            string    `col:"ics"`
	NHSNumber      string    `col:"nhs_number"`
	DateOfBirth    time.Time `col:"date_of_birth,date"`
	Gender         string    `col:"gender"`
	Title          string    `col:"title"`
	FirstName      string    `col:"first_name"`
	LastName       string    `col:"last_name"`
	Address1       string    `col:"address_1"`
	Address2       string    `col:"address_2"`
	Address3       string    `col:"address_3"`
	Address4       string    `col:"address_4"`
	Address5       string    `col:"address_5"`
	Postcode       string    `col:"postcode,doc=normalised with one space"`
	Mobile         string    `col:"mobile,doc=E.164 +447... or empty when no valid UK mobile"`
	AccessCode     string    `col:"access_code,doc=the code printed on the invitation"`
}

// ContactLayout is the restricted contact layout.
func ContactLayout() *Layout { return LayoutOf[Contact]("contact") }

// Outcome codes, after the NHS Patient Survey Programme practice (SPEC §6).
const (
	OutcomeCompleted   = 1
	OutcomeUndelivered = 2
	OutcomeDeceased    = 3
	OutcomeOptedOut    = 4
	OutcomeIneligible  = 5
	OutcomeNoResponse  = 6
)

// OutcomePrecedence ranks the outcome codes a person's events can carry, strongest
// first: a completed questionnaire wins over everything, death over an opt-out, an
// opt-out over a returned letter, a returned letter over ineligibility. Someone with
// no event at all has OutcomeDefault. The warehouse's outcomes view is generated from
// this list (warehouse.OutcomeRankSQL), and so is every other ranking of outcomes.
var OutcomePrecedence = []int32{OutcomeCompleted, OutcomeDeceased, OutcomeOptedOut, OutcomeUndelivered, OutcomeIneligible}

// OutcomeDefault is the outcome of a sampled person nothing is known about yet.
const OutcomeDefault = OutcomeNoResponse

// CurrentOutcome is the outcome of a person whose events carry codes: the first of
// OutcomePrecedence among them, else OutcomeDefault.
func CurrentOutcome(codes []int32) int32 {
	for _, p := range OutcomePrecedence {
		for _, c := range codes {
			if c == p {
				return p
			}
		}
	}
	return OutcomeDefault
}

// OutcomeName names an outcome code.
func OutcomeName[T ~int | ~int32](code T) string {
	switch code {
	case OutcomeCompleted:
		return "completed"
	case OutcomeUndelivered:
		return "undelivered"
	case OutcomeDeceased:
		return "deceased"
	case OutcomeOptedOut:
		return "opted out or too ill"
	case OutcomeIneligible:
		return "ineligible"
	case OutcomeNoResponse:
		return "no response"
	}
	return "unknown"
}
