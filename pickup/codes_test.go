package pickup

import (
	"context"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"groupbuy/internal/clock"
	"groupbuy/internal/pg"
	"groupbuy/internal/testenv"
)

// TestCodesAreUniqueAtAPointForTheirLife: a new code is none the point
// issued for a date within CodeLifeDays either way; a code of another point,
// or of a date long past, may come again. The lookup finds a code for
// CodeLifeDays by the warehouse's date, and no longer.
func TestCodesAreUniqueAtAPointForTheirLife(t *testing.T) {
	ctx := context.Background()
	db := testenv.DB(t)
	s := NewService(db, clock.System{})
	w := newTestWarehouse(t, s, "W1", 31.2, 121.4) // Asia/Shanghai
	var points [2]Point
	for i := range points {
		saved, err := s.SavePoint(ctx, pointInput(i+1, w.ID, 31.2, 121.41+float64(i)/100))
		if err != nil {
			t.Fatal(err)
		}
		points[i] = saved.Point
	}
	now := time.Date(2027, 3, 20, 2, 0, 0, 0, time.UTC)
	rs, err := EnsureResidents(ctx, db, []NewResident{{Phone: "13900000001", Name: "甲", PointID: points[0].ID},
		{Phone: "13900000002", Name: "乙", PointID: points[0].ID}, {Phone: "13900000003", Name: "丙", PointID: points[1].ID}}, now)
	if err != nil {
		t.Fatal(err)
	}
	a, b, c := rs[ResidentKey{points[0].ID, "13900000001"}].ID, rs[ResidentKey{points[0].ID, "13900000002"}].ID, rs[ResidentKey{points[1].ID, "13900000003"}].ID
	day := func(d int) time.Time { return time.Date(2027, 3, 20+d, 0, 0, 0, 0, time.UTC) }
	for d := -30; d <= 1; d++ {
		if _, err := db.Exec(`SELECT night_partitions_ensure($1)`, day(d)); err != nil {
			t.Fatal(err)
		}
	}
	// draw hands out the codes listed, in turn.
	draws := func(codes ...string) func() string {
		return func() string { c := codes[0]; codes = codes[1:]; return c }
	}
	issue := func(point, resident int64, date time.Time, draw func() string) string {
		t.Helper()
		var got map[int64]string
		if err := pg.InTx(ctx, db, func(tx *sqlx.Tx) error {
			var err error
			got, err = issueCodes(ctx, tx, point, date, []int64{resident}, now, draw)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return got[resident]
	}
	if got := issue(points[0].ID, b, day(-CodeLifeDays-2), draws("111111")); got != "111111" {
		t.Fatalf("B's old code %s", got)
	}
	if got := issue(points[0].ID, b, day(-1), draws("222222")); got != "222222" {
		t.Fatalf("B's code of yesterday %s", got)
	}
	// Today A draws yesterday's code of B, then B's code of CodeLifeDays+2
	// days ago, then a free one: only the first is refused.
	if got := issue(points[0].ID, a, day(0), draws("222222", "111111", "333333")); got != "111111" {
		t.Fatalf("A's code today %s, want 111111 (222222 is B's of yesterday)", got)
	}
	if got := issue(points[0].ID, a, day(0), draws("999999")); got != "111111" {
		t.Fatalf("a second issue changed A's code to %s", got)
	}
	// Another point may hold any code.
	if got := issue(points[1].ID, c, day(0), draws("222222")); got != "222222" {
		t.Fatalf("the other point's code %s", got)
	}
	// A code issued tomorrow avoids today's too.
	if got := issue(points[0].ID, b, day(1), draws("111111", "444444")); got != "444444" {
		t.Fatalf("B's code of tomorrow %s", got)
	}

	codes := NewCodes(db)
	holders := func(code string, at time.Time) []CodeHolder {
		t.Helper()
		hs, err := codes.Holders(ctx, db, points[0].LeaderID, code, at)
		if err != nil {
			t.Fatal(err)
		}
		return hs
	}
	if hs := holders("111111", now); len(hs) != 1 || hs[0].ResidentID != a {
		t.Fatalf("111111 now: %+v, want A's alone (B's is past its life)", hs)
	}
	if hs := holders("222222", now); len(hs) != 1 || hs[0].ResidentID != b {
		t.Fatalf("222222: %+v", hs)
	}
	// 2027-03-20 is CodeLifeDays days before 04-03 in Shanghai at 00:30
	// local (16:30 UTC the day before), and one day more after that.
	if hs := holders("111111", time.Date(2027, 4, 2, 16, 30, 0, 0, time.UTC)); len(hs) != 1 {
		t.Fatalf("on the last day of its life: %+v", hs)
	}
	if hs := holders("111111", time.Date(2027, 4, 3, 16, 30, 0, 0, time.UTC)); len(hs) != 0 {
		t.Fatalf("past its life: %+v", hs)
	}
}
