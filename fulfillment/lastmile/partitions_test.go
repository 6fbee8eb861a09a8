package lastmile_test

import (
	"context"
	"database/sql"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"groupbuy/fulfillment/fulfillmenttest"
	"groupbuy/fulfillment/lastmile/lastmiletest"
	"groupbuy/internal/testenv"
	"groupbuy/pickup"
)

// TestCollectReadsOnlyItsNightsPartitions runs the desk's collection on a
// database holding 150 nights (90 days' retention plus 35 made ahead and
// more) and reads every statement's plan through auto_explain: each names
// the night of the parcels it hands over (the code lookup at most the 15
// nights a code lives), so none should scan every night's partitions.
// TestCollectReadsOnlyItsNightsPartitions: a collection knows its nights,
// yet its statements (the lines' update, the commission's accrual, the
// read back, the code lookup) planned and scanned every night's partitions,
// some 150 at 90 days' retention, on the morning's hot path. Each statement
// of a real Collect is explained by auto_explain and may touch the code's
// life of nights and a few around it, no more.
func TestCollectReadsOnlyItsNightsPartitions(t *testing.T) {
	ctx := context.Background()
	c, clk := received(t)
	var code string
	if err := c.DB.Get(&code, `SELECT code FROM pickup_codes WHERE resident_id = $1`, c.Points[0].Resident); err != nil {
		t.Fatal(err)
	}
	c.Exec(`SELECT night_partitions_ensure(d::date) FROM generate_series($1::date - 115, $1::date + 35, '1 day') d`, fulfillmenttest.Date)
	c.Exec(`ANALYZE`)
	var name string
	if err := c.DB.Get(&name, `SELECT current_database()`); err != nil {
		t.Fatal(err)
	}

	// One connection whose statements' plans come back as notices.
	var mu sync.Mutex
	var plans []string
	connector, err := pq.NewConnector(testenv.URLFor(name) + "&session_preload_libraries=auto_explain&auto_explain.log_min_duration=0&auto_explain.log_level=notice&timezone=UTC")
	if err != nil {
		t.Fatal(err)
	}
	db := sqlx.NewDb(sql.OpenDB(pq.ConnectorWithNoticeHandler(connector, func(e *pq.Error) {
		mu.Lock()
		defer mu.Unlock()
		plans = append(plans, e.Message)
	})), "postgres")
	defer db.Close()
	desk := lastmiletest.NewDesk(t, db, clk)
	parcels, err := desk.Collect(ctx, c.Points[0].Leader, code, nil)
	if err != nil || len(parcels) != 1 {
		t.Fatalf("collect: %+v %v", parcels, err)
	}
	re := regexp.MustCompile(`(?:order_lines|parcel_lines|pickup_codes)_p(\d{8})`)
	mu.Lock()
	defer mu.Unlock()
	for _, p := range plans {
		nights := map[string]bool{}
		for _, m := range re.FindAllStringSubmatch(p, -1) {
			nights[m[1]] = true
		}
		query := p
		if i := strings.Index(p, "Query Text: "); i >= 0 {
			query = p[i+len("Query Text: "):]
		}
		query = strings.Join(strings.Fields(query), " ")
		if len(nights) > pickup.CodeLifeDays+4 { // the code lookup: its life, a day either way for the zone, a day ahead
			t.Errorf("scans the partitions of %d nights for one night's parcels: %.120s", len(nights), query)
		}
	}
}
