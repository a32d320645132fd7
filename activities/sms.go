package activities

import (
	"context"
	"time"

	"icesurvey/mailing"
)

// ReceiptsInput names one SMS step whose delivery receipts are wanted (#13 item 4).
type ReceiptsInput struct {
	Scope
	Step string `json:"step"`
}

// ReceiptsOutput counts the step's messages by their result after the fetch and names
// the rewritten mailing history for the warehouse (Objects).
type ReceiptsOutput = mailing.ReceiptsResult

// FetchReceipts reads the delivery status of one SMS step's messages from GOV.UK
// Notify (mailing.FetchReceipts) and writes it into the step's mailing history: a
// permanent-failure leaves the person out of every later SMS selection, a
// temporary-failure leaves them in the next step's. Run again, it asks only about
// messages whose status is not final.
func (a *Activities) FetchReceipts(ctx context.Context, in ReceiptsInput) (ReceiptsOutput, error) {
	stop := HeartbeatEvery(ctx, 10*time.Second)
	defer stop()
	var src mailing.ReceiptSource
	if a.Notify != nil {
		src = a.Notify
	}
	return mailing.FetchReceipts(ctx, a.Store, src, mailing.ReceiptsRequest{Wave: in.WaveID, ICS: in.ICS, Step: in.Step})
}
