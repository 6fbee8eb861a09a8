package notice

import "groupbuy/pickup/notify"

// NoticeMetrics counts what becomes of notices, each event once it is
// recorded in the outbox for good; cmd/groupbuy counts them with
// Prometheus. Where none is given, nothing is counted.
type NoticeMetrics interface {
	// NoticesQueued counts notices of a kind committed to the outbox.
	NoticesQueued(kind notify.Kind, n int)
	// NoticeDispatched counts one dispatch attempt once recorded: outcome
	// sent (through channel), retry, deferred (quiet hours) or failed
	// (given up).
	NoticeDispatched(channel string, kind notify.Kind, outcome string)
}

// noMetrics counts nothing: the NoticeMetrics of code given none.
type noMetrics struct{}

func (noMetrics) NoticesQueued(notify.Kind, int)               {}
func (noMetrics) NoticeDispatched(string, notify.Kind, string) {}

// orNoMetrics is m, or a NoticeMetrics that counts nothing for nil.
func orNoMetrics(m NoticeMetrics) NoticeMetrics {
	if m == nil {
		return noMetrics{}
	}
	return m
}
