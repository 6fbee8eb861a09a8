package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"

	"groupbuy/cmd/internal/cli"
	"groupbuy/cmd/internal/loadgen"
	"groupbuy/cmd/internal/machine"
	"groupbuy/internal/pg"
	"groupbuy/pickup"
)

// pickupBench is what one bench-pickup run does.
type pickupBench struct {
	leaders    int
	perPoint   int
	days       int // delivery dates of history per point; the last is today's, waiting
	duration   time.Duration
	warmup     time.Duration
	think      time.Duration // a leader's mean pause between two verifications
	wrongEvery int           // one wrong code in this many requests of a leader
	target     time.Duration // p99 must be within it
	keep       bool
}

// runBenchPickup measures pickup code verification (核销) over the API of a
// `groupbuy serve` process on loopback: every leader is a goroutine verifying the valid codes of its
// own point's waiting parcels, with an occasional wrong code that the
// per-leader limiter counts (kept under its 10 a minute).
func runBenchPickup(ctx context.Context, env labEnv, args []string, stdout, stderr io.Writer) error {
	fs := cli.NewFlagSet("bench-pickup", stderr)
	var b pickupBench
	fs.IntVar(&b.leaders, "leaders", 200, "concurrent leaders, one pickup point each")
	fs.IntVar(&b.perPoint, "per-point", 50, "residents with parcels (3 lines each) per point and delivery date")
	fs.IntVar(&b.days, "days", 7, "delivery dates of codes and parcels per point (past ones collected); today's are verified")
	fs.DurationVar(&b.duration, "duration", 20*time.Second, "measured time")
	fs.DurationVar(&b.warmup, "warmup", 3*time.Second, "unmeasured time before")
	fs.DurationVar(&b.think, "think", time.Second, "mean pause of a leader between verifications (uniform 0 to 2×); 0: back to back, which measures capacity, not a desk")
	fs.IntVar(&b.wrongEvery, "wrong-every", 100, "a leader enters a wrong code with chance 1 in this many tries (at most 5 a minute)")
	fs.DurationVar(&b.target, "target", 20*time.Millisecond, "the p99 latency the run must stay within")
	fs.BoolVar(&b.keep, "keep", false, "keep the scratch database")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the API process (groupbuy serve) to FILE")
	groupbuy := fs.String("groupbuy", "", "the groupbuy binary to run (default: beside this one, else built from this source tree)")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if b.leaders < 1 || b.perPoint < 1 || b.days < 1 || b.wrongEvery < 1 {
		return errors.New("bench-pickup: --leaders, --per-point, --days and --wrong-every must be positive")
	}
	bin, cleanup, err := groupbuyBinary(ctx, *groupbuy, stderr)
	if err != nil {
		return err
	}
	defer cleanup()
	loadBefore := machine.LoadAverage()
	s, err := newScratch(ctx, env, "pickup", b.keep, 4, stderr)
	if err != nil {
		return err
	}
	defer s.close()
	api, stop, err := serveAPI(ctx, bin, append(s.groupbuyEnv(), envInt("GROUPBUY_DB_MAX_CONNS", env.DBMaxConns), "GROUPBUY_LOG_LEVEL=error"),
		*cpuProfile, stderr)
	if err != nil {
		return err
	}
	defer stop()
	t0 := time.Now()
	ops, err := newOpsClient(ctx, s.db, api)
	if err != nil {
		return err
	}
	desk, err := setUpPickupDesks(ctx, s.db, ops, b)
	if err != nil {
		return err
	}
	var codes, lines int64
	_ = s.db.GetContext(ctx, &codes, `SELECT count(*) FROM pickup_codes`)
	_ = s.db.GetContext(ctx, &lines, `SELECT count(*) FROM parcel_lines`)
	fmt.Fprintf(stdout, "set up %d points with leaders, %d pickup codes and %d parcel lines over %d delivery dates in %.1fs\n",
		b.leaders, codes, lines, b.days, time.Since(t0).Seconds())

	res := driveVerify(ctx, api, desk, b)
	if err := stop(); err != nil {
		return fmt.Errorf("groupbuy serve: %w", err)
	}
	fmt.Fprintf(stdout, "\nbench-pickup: %d leaders, POST /api/v1/leader/pickups/verify, %s measured after %s warm-up, think %s, DB pool %d; load average before %s, after %s\n",
		b.leaders, b.duration, b.warmup, b.think, env.DBMaxConns, loadBefore, machine.LoadAverage())
	fmt.Fprintf(stdout, "  %-30s %d (%.0f /s)\n", "requests", res.total, float64(res.total)/b.duration.Seconds())
	fmt.Fprintf(stdout, "  %-30s %d\n", "valid codes, 200 with parcels", res.ok)
	fmt.Fprintf(stdout, "  %-30s %d (%.2f %%), all answered 404\n", "wrong codes", res.wrong, 100*float64(res.wrong)/float64(max(res.total, 1)))
	fmt.Fprintf(stdout, "  %-30s %d (429: %d, 5xx: %d)\n", "errors", res.errors, res.limited, res.fiveXX)
	fmt.Fprintf(stdout, "  %-30s p50 %.2f ms  p95 %.2f ms  p99 %.2f ms  max %.2f ms\n", "latency", res.p50, res.p95, res.p99, res.max)
	if res.firstErr != "" {
		fmt.Fprintf(stdout, "  first error: %s\n", res.firstErr)
	}
	var problems []string
	if res.errors > 0 {
		problems = append(problems, fmt.Sprintf("%d errors", res.errors))
	}
	if res.ok == 0 {
		problems = append(problems, "no verification succeeded")
	}
	if res.p99 > float64(b.target.Microseconds())/1000 {
		problems = append(problems, fmt.Sprintf("p99 %.2f ms, target %s", res.p99, b.target))
	}
	if len(problems) > 0 {
		return fmt.Errorf("bench-pickup: %s", strings.Join(problems, "; "))
	}
	fmt.Fprintf(stdout, "  ok: p99 within %s, no errors\n", b.target)
	return nil
}

// pickupDesk is one leader's point: its token, today's valid codes, and
// every code it has ever issued (a wrong code must be none of them).
type pickupDesk struct {
	token string
	valid []string
	taken map[string]bool
}

// setUpPickupDesks makes the points with their leaders and tokens and the
// products through the ops API, then the rows a night and a receipt leave
// behind, for b.days delivery dates ending today: residents, orders of 3
// lines, a received delivery per point and date, parcel lines (today's
// ready, older ones collected) and pickup codes issued by pickup.IssueCodes.
func setUpPickupDesks(ctx context.Context, db *sqlx.DB, ops *opsClient, b pickupBench) ([]pickupDesk, error) {
	wid, err := ops.createWarehouse(warehouseBody{Code: "PICKUP", Name: "核销压测仓", Lat: 31.2, Lng: 121.4,
		TimeZone: "Asia/Shanghai", CutoffLocal: "23:00", DeliveryStart: "07:00", DeliveryEnd: "10:00"})
	if err != nil {
		return nil, err
	}
	desks := make([]pickupDesk, b.leaders)
	pointIdx := map[int64]int{}
	for i := range b.leaders {
		id, token, err := ops.savePoint(pointBody{Code: fmt.Sprintf("K%05d", i), WarehouseID: wid, Name: fmt.Sprintf("核销自提点%d", i),
			Address: fmt.Sprintf("光明路%d号", i), Lat: 31.2 + float64(i%100)*0.001, Lng: 121.4 + float64(i/100)*0.001, Opens: "08:00", Closes: "21:00",
			Leader: personBody{Name: fmt.Sprintf("团长%d", i), Phone: fmt.Sprintf("1371%07d", i)}})
		if err != nil {
			return nil, err
		}
		desks[i] = pickupDesk{token: token, taken: map[string]bool{}}
		pointIdx[id] = i
	}
	if err := ops.saveProducts([]productBody{
		{SKU: "EGG", Name: "土鸡蛋", Unit: "盒", WeightG: 900, VolumeML: 1500, Zone: "chilled", Bin: "C-01-01"},
		{SKU: "RICE", Name: "东北大米", Unit: "袋", WeightG: 5000, VolumeML: 6000, Zone: "ambient", Bin: "A-01-01"},
		{SKU: "DUMPLING", Name: "三全水饺", Unit: "袋", WeightG: 1000, VolumeML: 1200, Zone: "frozen", Bin: "F-01-01"},
	}); err != nil {
		return nil, err
	}
	today := time.Now().UTC().Truncate(24 * time.Hour)
	now := time.Now().UTC()
	err = pg.InTx(ctx, db, func(tx *sqlx.Tx) error {
		// $1 warehouse, $2 today, $3 now, $4 days, $5 residents per point.
		type stmt struct {
			q    string
			args []any
		}
		for _, st := range []stmt{
			{`INSERT INTO sale_items (warehouse_id, product_id, delivery_date, price_fen, stock_cap, sold, created_at, updated_at)
				SELECT $1, p.id, $2::date - d, 990 + 1000 * (p.id % 3), 1000000, 0, $3, $3 FROM products p, generate_series(0, $4 - 1) d`,
				[]any{wid, today, now, b.days}},
			{`INSERT INTO waves (warehouse_id, delivery_date, state, cutoff_at, created_at, updated_at, dispatched_at, delivered_at)
				SELECT $1, $2::date - d, 'delivered', $3, $3, $3, $3, $3 FROM generate_series(0, $4 - 1) d`,
				[]any{wid, today, now, b.days}},
			{`INSERT INTO residents (phone, name, pickup_point_id, created_at)
				SELECT '16' || lpad((p.n * 1000 + k)::text, 9, '0'), '居民' || k, p.id, $2
				FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM pickup_points WHERE warehouse_id = $1) p,
					generate_series(0, $3 - 1) k`,
				[]any{wid, now, b.perPoint}},
			{`INSERT INTO deliveries (wave_id, pickup_point_id, state, dispatched_at, arrived_at, received_at)
				SELECT wv.id, p.id, 'received', $2, $2, $2 FROM waves wv JOIN pickup_points p ON p.warehouse_id = wv.warehouse_id
				WHERE wv.warehouse_id = $1`,
				[]any{wid, now}},
			{`INSERT INTO orders (leader_id, pickup_point_id, resident_id, warehouse_id, delivery_date, status, idempotency_key, request_hash, total_fen, created_at)
				SELECT p.leader_id, p.id, r.id, $1, wv.delivery_date, 'placed', 'bench-' || wv.delivery_date || '-' || r.id, '\x00'::bytea, 4970, $2
				FROM waves wv JOIN pickup_points p ON p.warehouse_id = wv.warehouse_id JOIN residents r ON r.pickup_point_id = p.id
				WHERE wv.warehouse_id = $1`,
				[]any{wid, now}},
			{`INSERT INTO order_lines (order_id, sale_item_id, quantity, price_fen, delivery_date)
				SELECT o.id, si.id, 1 + (o.id + si.id) % 3, si.price_fen, o.delivery_date FROM orders o
				JOIN sale_items si ON si.warehouse_id = o.warehouse_id AND si.delivery_date = o.delivery_date
				WHERE o.warehouse_id = $1`,
				[]any{wid}},
			{`INSERT INTO parcel_lines (order_line_id, delivery_id, pickup_point_id, resident_id, delivery_date, ready, state, ready_at, collected_at)
				SELECT ol.id, d.id, o.pickup_point_id, o.resident_id, o.delivery_date, ol.quantity,
					CASE WHEN o.delivery_date = $2 THEN 'ready' ELSE 'collected' END, $3,
					CASE WHEN o.delivery_date = $2 THEN NULL ELSE $3::timestamptz END
				FROM order_lines ol JOIN orders o ON o.id = ol.order_id
				JOIN waves wv ON wv.warehouse_id = o.warehouse_id AND wv.delivery_date = o.delivery_date
				JOIN deliveries d ON d.wave_id = wv.id AND d.pickup_point_id = o.pickup_point_id
				WHERE o.warehouse_id = $1`,
				[]any{wid, today, now}},
		} {
			if _, err := tx.ExecContext(ctx, st.q, st.args...); err != nil {
				return fmt.Errorf("%w in %.60s", err, strings.TrimSpace(st.q))
			}
		}
		var residents []struct {
			ID    int64 `db:"id"`
			Point int64 `db:"pickup_point_id"`
		}
		if err := tx.SelectContext(ctx, &residents, `SELECT r.id, r.pickup_point_id FROM residents r
			JOIN pickup_points p ON p.id = r.pickup_point_id WHERE p.warehouse_id = $1 ORDER BY r.id`, wid); err != nil {
			return err
		}
		byPoint := map[int64][]int64{}
		for _, r := range residents {
			byPoint[r.Point] = append(byPoint[r.Point], r.ID)
		}
		for point, ids := range byPoint {
			for d := range b.days {
				date := today.AddDate(0, 0, -d)
				issued, err := pickup.IssueCodes(ctx, tx, point, date, ids, now)
				if err != nil {
					return err
				}
				desk := &desks[pointIdx[point]]
				for _, code := range issued {
					desk.taken[code] = true
					if d == 0 {
						desk.valid = append(desk.valid, code)
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("set up pickups: %w", err)
	}
	if _, err := db.ExecContext(ctx, `ANALYZE`); err != nil {
		return nil, err
	}
	for i := range desks {
		slices.Sort(desks[i].valid)
		if len(desks[i].valid) == 0 {
			return nil, fmt.Errorf("set up pickups: point %d has no codes", i)
		}
	}
	return desks, nil
}

type verifyResult struct {
	total, ok, wrong, errors, limited, fiveXX int64
	firstErr                                  string
	p50, p95, p99, max                        float64
}

// driveVerify runs one goroutine per leader, each verifying codes at its
// own point until the measured time ends.
func driveVerify(ctx context.Context, api string, desks []pickupDesk, b pickupBench) verifyResult {
	client := loadgen.Client(len(desks))
	start := time.Now()
	measureFrom, measureTo := start.Add(b.warmup), start.Add(b.warmup+b.duration)
	var mu sync.Mutex
	var lat loadgen.Latencies
	var res verifyResult
	loadgen.Clients(len(desks), 11, func(i int, rng *rand.Rand) {
		desk := desks[i]
		var mine []float64
		var r verifyResult
		var wrongSlot, wrongInSlot int64
		for ctx.Err() == nil {
			if b.think > 0 {
				time.Sleep(time.Duration(rng.Int64N(int64(2 * b.think))))
			}
			t0 := time.Now()
			if !t0.Before(measureTo) {
				break
			}
			// Wrong codes stay under the limiter's 10 a minute per
			// leader, counted in its own minute windows.
			code, wrong := desk.valid[rng.IntN(len(desk.valid))], false
			if slot := t0.Unix() / 60; rng.IntN(b.wrongEvery) == 0 && (slot != wrongSlot || wrongInSlot < 5) {
				if slot != wrongSlot {
					wrongSlot, wrongInSlot = slot, 0
				}
				wrongInSlot++
				for code, wrong = fmt.Sprintf("%06d", 100000+rng.IntN(900000)), true; desk.taken[code]; {
					code = fmt.Sprintf("%06d", 100000+rng.IntN(900000))
				}
			}
			status, body, err := postVerify(client, api, desk.token, code)
			t1 := time.Now()
			if t0.Before(measureFrom) {
				continue
			}
			r.total++
			mine = append(mine, float64(t1.Sub(t0).Microseconds())/1000)
			switch {
			case err == nil && wrong && status == http.StatusNotFound && bytes.Contains(body, []byte("unknown_code")):
				r.wrong++
			case err == nil && !wrong && status == http.StatusOK && bytes.Contains(body, []byte(`"lines":[{`)):
				r.ok++
			default:
				r.errors++
				if status == http.StatusTooManyRequests {
					r.limited++
				}
				if status >= 500 {
					r.fiveXX++
				}
				if r.firstErr == "" {
					r.firstErr = fmt.Sprintf("code %s (wrong %v): %d %v %.200s", code, wrong, status, err, body)
				}
			}
		}
		lat.Add(mine)
		mu.Lock()
		res.total, res.ok, res.wrong = res.total+r.total, res.ok+r.ok, res.wrong+r.wrong
		res.errors, res.limited, res.fiveXX = res.errors+r.errors, res.limited+r.limited, res.fiveXX+r.fiveXX
		if res.firstErr == "" {
			res.firstErr = r.firstErr
		}
		mu.Unlock()
	})
	res.p50, res.p95, res.p99, res.max = lat.Quantiles()
	return res
}

func postVerify(client *http.Client, api, token, code string) (int, []byte, error) {
	return postJSON(client, api+"/api/v1/leader/pickups/verify", token, []byte(`{"code":"`+code+`"}`))
}
