package waveclient

import (
	"errors"
	"fmt"
	"testing"

	"go.temporal.io/sdk/temporal"

	"icesurvey/activities"
	"icesurvey/fault"
)

// An update's refusal reaches the client as the workflow's error after the round trip
// through Temporal's failure converter, as here; the client shows its sentence once,
// without Temporal's "(type: wrapError, retryable: true)". A classified error is left
// as it came (FailureText prints it; callers test its kind).
func TestRefusal(t *testing.T) {
	fc := temporal.GetDefaultFailureConverter()
	roundTrip := func(err error) error { return fc.FailureToError(fc.ErrorToFailure(err)) }
	joined := fmt.Errorf("approval of release r2 refused: %w", errors.Join(
		errors.New("ICS QMM: raking failed (no respondents): leave it out (--leave-out QMM) or fix its sample and build a new release"),
		errors.New("ICS QJK is not in wave W1")))
	cases := []struct {
		name string
		err  error
		want string
	}{
		{"wrapped and joined", joined, "approval of release r2 refused: ICS QMM: raking failed (no respondents): leave it out (--leave-out QMM) or fix its sample and build a new release\nICS QJK is not in wave W1"},
		{"one sentence", errors.New("the approval must name who signs it (--by)"), "the approval must name who signs it (--by)"},
		{"wrapped", fmt.Errorf("day %d is outside fieldwork (0..%d)", 90, 55), "day 90 is outside fieldwork (0..55)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := refusal(roundTrip(c.err))
			if got.Error() != c.want {
				t.Errorf("refusal:\n%s\nwant\n%s", got, c.want)
			}
		})
	}
	classified := roundTrip(activities.ApplicationError(fault.Errorf(fault.NotAuthorised, "not a named reader")))
	if got := refusal(classified); got != classified {
		t.Errorf("a classified refusal was rewritten: %v", got)
	}
	if refusal(nil) != nil {
		t.Error("refusal(nil) is not nil")
	}
}
