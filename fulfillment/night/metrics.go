package night

import (
	"time"

	"groupbuy/fulfillment"
	"groupbuy/fulfillment/refund"
	"groupbuy/fulfillment/wave"
	"groupbuy/pickup/notice"
	"groupbuy/pickup/notify"
)

// StageMetrics times the wave stages.
type StageMetrics interface {
	// StageDone records a wave stage that committed and how long it took.
	StageDone(stage wave.Stage, took time.Duration)
}

// Metrics is what the night counts, each event once the transaction that
// wrote it has committed (pg.AfterCommit); cmd/groupbuy counts them with
// Prometheus. A nil field counts nothing.
type Metrics struct {
	Refunds refund.Counter
	Stages  StageMetrics
	Notices notice.NoticeMetrics // the notices the stages queue
}

// orNone returns m with every nil field replaced by one that counts nothing.
func (m Metrics) orNone() Metrics {
	if m.Refunds == nil {
		m.Refunds = noMetrics{}
	}
	if m.Stages == nil {
		m.Stages = noMetrics{}
	}
	if m.Notices == nil {
		m.Notices = noMetrics{}
	}
	return m
}

// noMetrics counts nothing.
type noMetrics struct{}

func (noMetrics) Refunded(fulfillment.RefundReason, int64, int64) {}
func (noMetrics) StageDone(wave.Stage, time.Duration)             {}
func (noMetrics) NoticesQueued(notify.Kind, int)                  {}
func (noMetrics) NoticeDispatched(string, notify.Kind, string)    {}
