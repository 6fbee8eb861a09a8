package supply

import (
	"context"
	"encoding/json"

	"github.com/hibiken/asynq"
)

// SendTask is the send job's task for a purchase order's seq-th sending,
// for the tests outside the package.
func SendTask(poID, seq int64) *asynq.Task {
	b, _ := json.Marshal(sendPayload{PurchaseOrderID: poID, Seq: seq})
	return asynq.NewTask(TaskSendPurchaseOrder, b)
}

// HandleSend runs the send job's handler.
func (s *Service) HandleSend(ctx context.Context, t *asynq.Task) error { return s.handleSend(ctx, t) }
