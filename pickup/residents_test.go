package pickup

import (
	"context"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"groupbuy/internal/clock"
	"groupbuy/internal/testenv"
)

// A resident known at the point is only read, never rewritten: an order
// placed by phone for them leaves no dead row behind. One new to the point
// is registered once, even by two transactions at the same moment.
func TestEnsureResidentsWritesOnlyNewOnes(t *testing.T) {
	ctx := context.Background()
	db := testenv.DB(t)
	s := NewService(db, clock.System{})
	w := newTestWarehouse(t, s, "W1", 31.2, 121.4)
	saved, err := s.SavePoint(ctx, pointInput(1, w.ID, 31.2, 121.41))
	if err != nil {
		t.Fatal(err)
	}
	point := saved.Point.ID
	now := time.Date(2027, 1, 1, 2, 0, 0, 0, time.UTC)
	ensure := func(q sqlx.ExtContext, people ...NewResident) map[ResidentKey]Resident {
		t.Helper()
		got, err := EnsureResidents(ctx, q, people, now)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	version := func(id int64) (v struct {
		Xmin string `db:"xmin"`
		Ctid string `db:"ctid"`
	}) {
		t.Helper()
		if err := db.Get(&v, `SELECT xmin::text AS xmin, ctid::text AS ctid FROM residents WHERE id = $1`, id); err != nil {
			t.Fatal(err)
		}
		return v
	}

	first := ensure(db, NewResident{Phone: "13900000001", Name: "张三", PointID: point})
	zhang := first[ResidentKey{point, "13900000001"}]
	before := version(zhang.ID)
	again := ensure(db, NewResident{Phone: "13900000001", Name: "别名", PointID: point},
		NewResident{Phone: "13900000002", Name: "李四", PointID: point})
	if got := again[ResidentKey{point, "13900000001"}]; got != zhang {
		t.Fatalf("known resident came back as %+v, want %+v", got, zhang)
	}
	if li := again[ResidentKey{point, "13900000002"}]; li.ID == 0 || li.Name != "李四" || len(again) != 2 {
		t.Fatalf("a batch of a known and a new resident answered %+v", again)
	}
	if after := version(zhang.ID); after != before {
		t.Fatalf("ensuring a known resident rewrote their row: %+v, then %+v", before, after)
	}

	// Two transactions register the same new phone: the second waits on
	// the first's row and, once it commits, answers that row.
	tx1, err := db.BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx1.Rollback()
	wang := NewResident{Phone: "13900000003", Name: "王五", PointID: point}
	one := ensure(tx1, wang)[ResidentKey{point, wang.Phone}]
	second := make(chan Resident, 1)
	go func() {
		got, err := EnsureResidents(ctx, db, []NewResident{wang}, now)
		if err != nil {
			t.Error(err)
		}
		second <- got[ResidentKey{point, wang.Phone}]
	}()
	time.Sleep(200 * time.Millisecond) // the second is now waiting on the first's row
	if err := tx1.Commit(); err != nil {
		t.Fatal(err)
	}
	if two := <-second; two != one {
		t.Fatalf("concurrent registrations answered %+v and %+v", one, two)
	}
	var n int
	if err := db.Get(&n, `SELECT count(*) FROM residents WHERE pickup_point_id = $1`, point); err != nil || n != 3 {
		t.Fatalf("%d residents at the point (%v), want 3", n, err)
	}
}
