package notify

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Kind is what a notice to a resident is about. This is the one list of
// kinds: the outbox (package pickup) queues notices of these kinds, and
// each has a default template here.
type Kind string

// Notice kinds.
const (
	KindArrival  Kind = "arrival"  // parcels are at the point, with the pickup code
	KindReminder Kind = "reminder" // parcels still waiting in the evening
	KindRefund   Kind = "refund"   // units refunded, and why: the refund is submitted for payment
	// KindRefundPaid: the payment system paid a refund back; until then the
	// resident hears only that it was submitted.
	KindRefundPaid Kind = "refund_paid"
	KindReturn     Kind = "return" // not collected in time, sent back and refunded
)

// ErrUnknownKind means no template exists for a notice kind.
var ErrUnknownKind = errors.New("notify: unknown notice kind")

// ErrMissingVar means a template names a variable the caller did not supply.
var ErrMissingVar = errors.New("notify: missing template variable")

// Templates maps a notice kind to its text, with variables in braces such as
// {code}; a caller overrides a wording by replacing an entry.
type Templates map[Kind]string

// DefaultTemplates returns a fresh copy of the standard Chinese wordings, so a
// caller may change its copy without touching anyone else's.
func DefaultTemplates() Templates {
	return Templates{
		KindArrival:    "您的订单已到达{point}，提货码{code}，营业时间{hours}，地址{address}。",
		KindReminder:   "您在{point}的包裹尚未领取，提货码{code}，营业时间{hours}，请于{deadline}前领取。",
		KindRefund:     "您的订单{items}退款{amount}元，退款已提交，原因：{reason}，到账后另行通知。",
		KindRefundPaid: "您的订单{items}退款{amount}元已原路退回，原因：{reason}。",
		KindReturn:     "您在{point}的包裹超时未取，已退回仓库，{amount}元将原路退款。",
	}
}

// Render fills the default template of kind with vars.
func Render(kind Kind, vars map[string]string) (string, error) {
	return DefaultTemplates().Render(kind, vars)
}

// Render fills the template of kind with vars. Every variable the template
// names must be present, since a notice with a blank pickup code is worse
// than none; the error names each missing one. Values are inserted as they
// are, never expanded again.
func (t Templates) Render(kind Kind, vars map[string]string) (string, error) {
	tmpl, ok := t[kind]
	if !ok {
		return "", fmt.Errorf("%w %q", ErrUnknownKind, kind)
	}
	var b strings.Builder
	var missing []string
	rest := tmpl
	for {
		open := strings.IndexByte(rest, '{')
		if open < 0 {
			b.WriteString(rest)
			break
		}
		end := strings.IndexByte(rest[open:], '}')
		if end < 0 || !isVarName(rest[open+1:open+end]) {
			// Not a variable: keep the brace as text.
			b.WriteString(rest[:open+1])
			rest = rest[open+1:]
			continue
		}
		name := rest[open+1 : open+end]
		b.WriteString(rest[:open])
		if v, ok := vars[name]; ok {
			b.WriteString(v)
		} else {
			missing = append(missing, name)
		}
		rest = rest[open+end+1:]
	}
	if len(missing) > 0 {
		return "", fmt.Errorf("%w in %q template: %s", ErrMissingVar, kind, strings.Join(missing, ", "))
	}
	return b.String(), nil
}

func isVarName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// Yuan formats an amount in fen as yuan with two decimals, e.g. 1250 -> "12.50".
func Yuan(fen int64) string {
	sign := ""
	// Negating in uint64 keeps math.MinInt64 exact.
	u := uint64(fen)
	if fen < 0 {
		sign = "-"
		u = -u
	}
	cents := u % 100
	pad := ""
	if cents < 10 {
		pad = "0"
	}
	return sign + strconv.FormatUint(u/100, 10) + "." + pad + strconv.FormatUint(cents, 10)
}
