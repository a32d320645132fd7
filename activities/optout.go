package activities

import (
	"context"
	"fmt"
	"strings"
	"time"

	"icesurvey/audit"
	"icesurvey/lake"
	"icesurvey/pseudo"
	"icesurvey/schemas"
)

// RecordOptOut writes a late opt-out (outcome 4) to the lake for the warehouse to load.
// The person must be in the ICS's accepted sample; an unknown ID or code is refused
// without retry. Recording the same opt-out again rewrites the same object.
func (a *Activities) RecordOptOut(ctx context.Context, in OptOutInput) (OptOutOutput, error) {
	id := in.SurveyRecordID
	code := ""
	if in.AccessCode != "" {
		c, ok := pseudo.NormaliseAccessCode(in.AccessCode)
		if !ok {
			return OptOutOutput{}, BadInput(fmt.Errorf("%q is not an access code (XXXX-XXXX-XXXX)", in.AccessCode))
		}
		code = c
	}
	found := false
	err := lake.Scan(ctx, a.Store, contactsKey(in.WaveID, in.ICS), schemas.ContactLayout(), func(c *schemas.Contact) error {
		if (id != "" && c.SurveyRecordID == id) || (code != "" && c.AccessCode == code) {
			id, found = c.SurveyRecordID, true
		}
		return nil
	})
	if err != nil {
		return OptOutOutput{}, err
	}
	if !found {
		what := "survey record " + in.SurveyRecordID
		if in.AccessCode != "" {
			what = "access code " + in.AccessCode
		}
		return OptOutOutput{}, BadInput(fmt.Errorf("%s is not in the %s sample of wave %s", what, in.ICS, in.WaveID))
	}
	reason := strings.TrimSpace(in.Reason)
	if reason == "" {
		reason = "operator"
	}
	// The opt-out takes effect when it is in the lake: every send that starts after
	// this moment leaves the person out, so that is its time.
	now := time.Now().UTC()
	ev := schemas.OutcomeEvent{EventID: "optout/" + id, Wave: in.WaveID, ICS: in.ICS, LoadDate: now.Truncate(24 * time.Hour),
		SurveyRecordID: id, Outcome: schemas.OutcomeOptedOut, At: now, Reason: reason, SourceFile: "ice wave opt-out"}
	key := optOutPrefix(in.WaveID, in.ICS) + id + ".parquet"
	if err := lake.PutRows(ctx, a.Store, key, schemas.OutcomeEventLayout(), []schemas.OutcomeEvent{ev}); err != nil {
		return OptOutOutput{}, err
	}
	audit.Record(ctx, "late_opt_out", map[string]any{"survey_record_id": id, "reason": reason})
	return OptOutOutput{SurveyRecordID: id, OutcomesKey: key}, nil
}

func optOutPrefix(wave, ics string) string {
	return schemas.LakePartition("outcome_events", wave, ics) + "optout-"
}

// optedOut lists everyone with a late opt-out recorded in the lake (one object each,
// named by survey record ID), so a send can honour opt-outs newer than its selection.
func (a *Activities) optedOut(ctx context.Context, wave, ics string) (map[string]bool, error) {
	prefix := optOutPrefix(wave, ics)
	infos, err := a.Store.List(ctx, prefix)
	if err != nil {
		return nil, err
	}
	out := make(map[string]bool, len(infos))
	for _, inf := range infos {
		if id, ok := strings.CutSuffix(strings.TrimPrefix(inf.Key, prefix), ".parquet"); ok && id != "" {
			out[id] = true
		}
	}
	return out, nil
}
