package pickup

import (
	"errors"
	"testing"
	"time"

	"groupbuy/internal/apperr"
	"groupbuy/internal/clock"
)

func TestCutoffInWarehouseTimeZone(t *testing.T) {
	day := func(s string) time.Time { d, _ := time.Parse(time.DateOnly, s); return d }
	cases := []struct {
		zone, cutoff, date string
		want               time.Time
	}{
		{"Asia/Shanghai", "23:00", "2026-12-01", time.Date(2026, 11, 30, 15, 0, 0, 0, time.UTC)},
		{"Asia/Shanghai", "00:30", "2026-12-01", time.Date(2026, 11, 29, 16, 30, 0, 0, time.UTC)},
		{"Asia/Urumqi", "22:00", "2026-12-01", time.Date(2026, 11, 30, 16, 0, 0, 0, time.UTC)},
		// New York: the day before delivery is in daylight saving time in the first
		// case (UTC-4) and in standard time in the second (UTC-5).
		{"America/New_York", "23:00", "2026-10-31", time.Date(2026, 10, 31, 3, 0, 0, 0, time.UTC)},
		{"America/New_York", "23:00", "2026-11-02", time.Date(2026, 11, 2, 4, 0, 0, 0, time.UTC)},
		{"UTC", "23:00", "2027-01-01", time.Date(2026, 12, 31, 23, 0, 0, 0, time.UTC)},
	}
	for _, c := range cases {
		cutoff, err := clock.ParseTimeOfDay(c.cutoff)
		if err != nil {
			t.Fatal(err)
		}
		w := Warehouse{TimeZone: c.zone, CutoffLocal: cutoff}
		got, err := w.Cutoff(day(c.date))
		if err != nil {
			t.Fatal(err)
		}
		if !got.Equal(c.want) {
			t.Errorf("%s %s for %s: got %s, want %s", c.zone, c.cutoff, c.date, got, c.want)
		}
	}
}

func TestWarehouseValidation(t *testing.T) {
	good := Warehouse{Code: "SH-1", Name: "上海仓", Lat: 31, Lng: 121, TimeZone: "Asia/Shanghai",
		CutoffLocal: clock.NewTimeOfDay(23, 0), DeliveryStart: clock.NewTimeOfDay(7, 0), DeliveryEnd: clock.NewTimeOfDay(10, 0)}
	if err := good.Validate(); err != nil {
		t.Fatalf("valid warehouse refused: %v", err)
	}
	for field, mutate := range map[string]func(*Warehouse){
		"code":           func(w *Warehouse) { w.Code = "有空格 的" },
		"name":           func(w *Warehouse) { w.Name = " " },
		"lat":            func(w *Warehouse) { w.Lat = 90.0001 },
		"lng":            func(w *Warehouse) { w.Lng = -180.5 },
		"time_zone":      func(w *Warehouse) { w.TimeZone = "Local" },
		"cutoff_local":   func(w *Warehouse) { w.CutoffLocal = clock.TimeOfDay{} },
		"delivery_start": func(w *Warehouse) { w.DeliveryStart = clock.TimeOfDay{} },
		"delivery_end":   func(w *Warehouse) { w.DeliveryEnd = clock.NewTimeOfDay(6, 0) },
	} {
		w := good
		mutate(&w)
		var e *apperr.Error
		if err := w.Validate(); !errors.As(err, &e) || e.Field != field || e.Kind != apperr.Invalid {
			t.Errorf("bad %s: got %v", field, err)
		}
	}
}

func TestPhoneAndNameChecks(t *testing.T) {
	for _, ok := range []string{"13812345678", "+8613812345678", "02155551234"} {
		if err := CheckPhone("phone", ok); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "138-1234-5678", "1381234567890123456789", "13812345678' OR 1=1"} {
		if err := CheckPhone("phone", bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if err := CheckName("name", "王小明\x00"); err == nil {
		t.Error("a name with a NUL byte was accepted")
	}
	if err := CheckName("name", "Zoë 王 🍎"); err != nil {
		t.Errorf("unicode name refused: %v", err)
	}
}
