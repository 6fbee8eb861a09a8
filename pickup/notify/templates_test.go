package notify

import (
	"errors"
	"math"
	"strings"
	"testing"
)

func TestRenderDefaults(t *testing.T) {
	vars := map[string]string{
		"point": "幸福里便利店", "code": "8-3-12", "hours": "09:00-21:00", "address": "幸福路1号",
		"deadline": "12月3日21:00", "items": "鸡蛋×2", "amount": Yuan(1250), "reason": "缺货",
	}
	tests := map[Kind]string{
		KindArrival:    "您的订单已到达幸福里便利店，提货码8-3-12，营业时间09:00-21:00，地址幸福路1号。",
		KindReminder:   "您在幸福里便利店的包裹尚未领取，提货码8-3-12，营业时间09:00-21:00，请于12月3日21:00前领取。",
		KindRefund:     "您的订单鸡蛋×2退款12.50元，退款已提交，原因：缺货，到账后另行通知。",
		KindRefundPaid: "您的订单鸡蛋×2退款12.50元已原路退回，原因：缺货。",
		KindReturn:     "您在幸福里便利店的包裹超时未取，已退回仓库，12.50元将原路退款。",
	}
	for kind, want := range tests {
		got, err := Render(kind, vars)
		if err != nil || got != want {
			t.Errorf("Render(%s) = %q, %v\nwant %q", kind, got, err, want)
		}
	}
}

func TestRenderErrors(t *testing.T) {
	_, err := Render(KindArrival, map[string]string{"point": "幸福里", "hours": "全天"})
	if !errors.Is(err, ErrMissingVar) || !strings.Contains(err.Error(), "code") || !strings.Contains(err.Error(), "address") {
		t.Errorf("missing vars: %v, want ErrMissingVar naming code and address", err)
	}
	if _, err := Render("coupon", nil); !errors.Is(err, ErrUnknownKind) || !strings.Contains(err.Error(), "coupon") {
		t.Errorf("unknown kind: %v", err)
	}
}

func TestTemplatesOverride(t *testing.T) {
	tpl := DefaultTemplates()
	tpl[KindArrival] = "{name}您好，包裹到{point}了 {不是变量} {code"
	got, err := tpl.Render(KindArrival, map[string]string{"name": "王芳", "point": "{code}"})
	if want := "王芳您好，包裹到{code}了 {不是变量} {code"; err != nil || got != want {
		t.Errorf("got %q, %v; want %q", got, err, want)
	}
	// The override did not leak into the defaults.
	if DefaultTemplates()[KindArrival] == tpl[KindArrival] {
		t.Error("DefaultTemplates shares its map")
	}
}

func TestYuan(t *testing.T) {
	for fen, want := range map[int64]string{
		0: "0.00", 5: "0.05", 10: "0.10", 100: "1.00", 1250: "12.50", 123456: "1234.56",
		-5: "-0.05", -1250: "-12.50",
		math.MaxInt64: "92233720368547758.07", math.MinInt64: "-92233720368547758.08",
	} {
		if got := Yuan(fen); got != want {
			t.Errorf("Yuan(%d) = %q, want %q", fen, got, want)
		}
	}
}
