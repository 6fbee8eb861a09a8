package pickup

import (
	"context"
	"errors"
	"strings"
	"testing"

	"groupbuy/internal/apperr"
	"groupbuy/internal/clock"
	"groupbuy/internal/testenv"
)

// TestPointReceivingHours: a point's receiving hours are optional, go in
// pairs, end after they start, and come back as stored through the API's
// save and the CSV import, with or without the optional columns.
func TestPointReceivingHours(t *testing.T) {
	ctx := context.Background()
	db := testenv.DB(t)
	s := NewService(db, clock.System{})
	w := newTestWarehouse(t, s, "W1", 31.2, 121.4)
	in := pointInput(1, w.ID, 31.2, 121.41)
	got, err := s.SavePoint(ctx, in)
	if err != nil || !got.Point.ReceivingFrom.IsZero() || !got.Point.ReceivingUntil.IsZero() {
		t.Fatalf("without hours: %+v %v", got.Point, err)
	}
	in.ReceivingFrom, in.ReceivingUntil = clock.NewTimeOfDay(7, 30), clock.NewTimeOfDay(9, 0)
	if _, err := s.SavePoint(ctx, in); err != nil {
		t.Fatal(err)
	}
	p, err := GetPointByCode(ctx, db, in.Code)
	if err != nil || p.ReceivingFrom.String() != "07:30" || p.ReceivingUntil.String() != "09:00" {
		t.Fatalf("stored hours %q–%q, %v", p.ReceivingFrom, p.ReceivingUntil, err)
	}
	var e *apperr.Error
	for _, bad := range [][2]clock.TimeOfDay{
		{clock.NewTimeOfDay(7, 0), {}},
		{{}, clock.NewTimeOfDay(9, 0)},
		{clock.NewTimeOfDay(9, 0), clock.NewTimeOfDay(9, 0)},
		{clock.NewTimeOfDay(10, 0), clock.NewTimeOfDay(9, 0)},
	} {
		in.ReceivingFrom, in.ReceivingUntil = bad[0], bad[1]
		if _, err := s.SavePoint(ctx, in); !errors.As(err, &e) || e.Kind != apperr.Invalid || e.Field != "receiving_until" {
			t.Errorf("hours %q–%q: got %v", bad[0], bad[1], err)
		}
	}
	// CSV: the optional columns set the hours; a file without them imports
	// points that receive whenever the warehouse delivers.
	header := strings.Join(PointCSVColumns, ",")
	csv := header + ",receiving_from,receiving_until\n" +
		"C1,W1,点一,,31.2,121.42,08:00,21:00,甲,13700000001,06:00,08:15\n" +
		"C2,W1,点二,,31.2,121.43,08:00,21:00,乙,13700000002,,\n"
	if _, err := s.ImportPoints(ctx, strings.NewReader(csv)); err != nil {
		t.Fatal(err)
	}
	for code, want := range map[string]string{"C1": "06:00–08:15", "C2": "–"} {
		p, err := GetPointByCode(ctx, db, code)
		if got := p.ReceivingFrom.String() + "–" + p.ReceivingUntil.String(); err != nil || got != want {
			t.Errorf("%s: hours %q, want %q (%v)", code, got, want, err)
		}
	}
	if _, err := s.ImportPoints(ctx, strings.NewReader(header+"\nC3,W1,点三,,31.2,121.44,08:00,21:00,丙,13700000003\n")); err != nil {
		t.Fatalf("a file without the optional columns: %v", err)
	}
	for _, row := range []string{
		"C4,W1,点四,,31.2,121.45,08:00,21:00,丁,13700000004,7:00,09:00",
		"C4,W1,点四,,31.2,121.45,08:00,21:00,丁,13700000004,09:00,",
	} {
		_, err := s.ImportPoints(ctx, strings.NewReader(header+",receiving_from,receiving_until\n"+row+"\n"))
		if !errors.As(err, &e) || e.Kind != apperr.Invalid || e.Details["line"] != 2 || !strings.Contains(e.Field, "receiving_") {
			t.Errorf("%s: got %v (%+v)", row, err, e)
		}
	}
}
