package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os/exec"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"groupbuy/cmd/internal/cli"
	"groupbuy/cmd/internal/loadgen"
	"groupbuy/fulfillment"
)

// loadConfig is what one load test run does.
type loadConfig struct {
	clients  int
	duration time.Duration
	warmup   time.Duration
	leaders  int
	skus     int
	burst    int // orders fired at the hot SKU's last units in the sell-out phase
	pgbench  bool
	pgScale  int
	keep     bool
	// overload: orders offered open loop at this multiple of the measured
	// rate, for overloadFor, at most inflight at once (0: skip).
	overload    float64
	overloadFor time.Duration
	inflight    int
}

// runLoadtest measures order intake over real HTTP on loopback, on a
// `groupbuy serve` process: many concurrent leaders place 3-line orders,
// each containing one hot SKU, then a burst sells that SKU out; pgbench's
// default script runs against the same PostgreSQL with the same client count
// for comparison. It makes its own scratch databases on DATABASE_URL's
// server and drops them afterwards.
func runLoadtest(ctx context.Context, env labEnv, args []string, stdout, stderr io.Writer) error {
	fs := cli.NewFlagSet("loadtest", stderr)
	var lc loadConfig
	fs.IntVar(&lc.clients, "clients", 32, "concurrent leader clients (and pgbench clients)")
	fs.DurationVar(&lc.duration, "duration", 20*time.Second, "measured time")
	fs.DurationVar(&lc.warmup, "warmup", 3*time.Second, "unmeasured time before")
	fs.IntVar(&lc.leaders, "leaders", 500, "group leaders (pickup points)")
	fs.IntVar(&lc.skus, "skus", 500, "SKUs on sale")
	fs.IntVar(&lc.burst, "burst", 2000, "orders fired at the hot SKU's last 500 units")
	fs.BoolVar(&lc.pgbench, "pgbench", true, "run pgbench for comparison")
	fs.IntVar(&lc.pgScale, "pgbench-scale", 0, "pgbench scale factor (0: the client count, so pgbench has no single hot row)")
	fs.BoolVar(&lc.keep, "keep", false, "keep the scratch database")
	fs.Float64Var(&lc.overload, "overload", 2.5, "then offer orders open loop at this multiple of the measured rate (0: skip)")
	fs.DurationVar(&lc.overloadFor, "overload-for", 10*time.Second, "how long the overload lasts")
	fs.IntVar(&lc.inflight, "inflight", 1024, "requests in flight at most during the overload")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the API process (groupbuy serve) to FILE")
	groupbuy := fs.String("groupbuy", "", "the groupbuy binary to run (default: beside this one, else built from this source tree)")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if lc.clients < 1 || lc.leaders < 1 || lc.skus < 3 || lc.duration <= 0 {
		return errors.New("loadtest: --clients, --leaders and --duration must be positive, --skus at least 3")
	}
	if lc.pgScale == 0 {
		lc.pgScale = lc.clients
	}
	bin, cleanup, err := groupbuyBinary(ctx, *groupbuy, stderr)
	if err != nil {
		return err
	}
	defer cleanup()
	s, err := newScratch(ctx, env, "load", lc.keep, 4, stderr)
	if err != nil {
		return err
	}
	defer s.close()
	// The benchmark measures intake, not the write limiter: 32 leaders at
	// 2,000 orders/s make far more writes a minute per token than the limit.
	serveEnv := append(s.groupbuyEnv(), envInt("GROUPBUY_DB_MAX_CONNS", max(env.DBMaxConns, 20)), "GROUPBUY_WRITE_LIMIT=0",
		"GROUPBUY_LOG_LEVEL=error")
	api, stop, err := serveAPI(ctx, bin, serveEnv, *cpuProfile, stderr)
	if err != nil {
		return err
	}
	defer stop()
	ops, err := newOpsClient(ctx, s.db, api)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "setting up %d leaders and %d SKUs\n", lc.leaders, lc.skus)
	city, err := setUpLoadCity(ops, lc)
	if err != nil {
		return err
	}
	res := driveOrders(ctx, api, city, lc)
	fmt.Fprintf(stdout, "\norder intake: %d clients, %s measured after %s warm-up\n", lc.clients, lc.duration, lc.warmup)
	fmt.Fprintf(stdout, "  orders placed      %d (%.0f orders/s, %.0f order lines/s)\n", res.ok, res.rate, res.rate*3)
	fmt.Fprintf(stdout, "  latency            p50 %.1f ms  p95 %.1f ms  p99 %.1f ms  max %.1f ms\n", res.p50, res.p95, res.p99, res.max)
	fmt.Fprintf(stdout, "  refused            %d sold out, %d other errors (%d 5xx)\n", res.soldOut, res.other, res.fiveXX)

	if lc.overload > 0 {
		if err := overloadIntake(ctx, s.db, api, city, lc, lc.overload*res.rate, stdout); err != nil {
			return err
		}
	}

	burst, err := sellOut(ctx, s.db, ops, api, city, lc)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nsell-out burst: %d orders at the hot SKU's last %d units\n", lc.burst, burst.cap-burst.soldBefore)
	fmt.Fprintf(stdout, "  accepted %d, sold out %d, other %d; sold %d of cap %d; order lines say %d; oversold %d\n",
		burst.accepted, burst.soldOut, burst.other, burst.soldAfter, burst.cap, burst.fromLines, max(0, burst.soldAfter-burst.cap))
	// The API is done: stopped now, its profile is written and it no longer
	// shares the machine with pgbench.
	if err := stop(); err != nil {
		return fmt.Errorf("groupbuy serve: %w", err)
	}

	if lc.pgbench {
		tps, err := runPgbench(ctx, s.DatabaseURL, lc)
		if err != nil {
			return fmt.Errorf("pgbench: %w", err)
		}
		fmt.Fprintf(stdout, "\npgbench (TPC-B-like default script, scale %d, %d clients, %s): %.0f tps\n", lc.pgScale, lc.clients, lc.duration, tps)
		fmt.Fprintf(stdout, "  order throughput / pgbench tps = %.2f\n", res.rate/tps)
	}
	if burst.soldAfter > burst.cap || burst.fromLines != burst.soldAfter {
		return fmt.Errorf("loadtest: stock disagrees: sold %d, cap %d, lines %d", burst.soldAfter, burst.cap, burst.fromLines)
	}
	return nil
}

type loadCity struct {
	date    string
	tokens  []string
	hot     int64
	others  []int64
	nextKey atomic.Int64
}

// setUpLoadCity makes the warehouse, the leaders with their points and
// tokens, and the SKUs on sale three days ahead, through the ops API.
func setUpLoadCity(ops *opsClient, lc loadConfig) (*loadCity, error) {
	wid, err := ops.createWarehouse(warehouseBody{Code: "LOAD", Name: "压测仓", Lat: 31.2, Lng: 121.4,
		TimeZone: "Asia/Shanghai", CutoffLocal: "23:00", DeliveryStart: "07:00", DeliveryEnd: "10:00"})
	if err != nil {
		return nil, err
	}
	city := &loadCity{date: time.Now().UTC().AddDate(0, 0, 3).Format(time.DateOnly)}
	for i := range lc.leaders {
		_, token, err := ops.savePoint(pointBody{Code: fmt.Sprintf("L%05d", i), WarehouseID: wid, Name: fmt.Sprintf("压测自提点%d", i),
			Lat: 31.2 + float64(i%100)*0.001, Lng: 121.4 + float64(i/100)*0.001, Opens: "08:00", Closes: "21:00",
			Leader: personBody{Name: fmt.Sprintf("团长%d", i), Phone: fmt.Sprintf("1370%07d", i)}})
		if err != nil {
			return nil, err
		}
		city.tokens = append(city.tokens, token)
	}
	products := make([]productBody, lc.skus)
	offers := make([]offerBody, lc.skus)
	for i := range products {
		products[i] = productBody{SKU: fmt.Sprintf("LOAD%05d", i), Name: fmt.Sprintf("压测商品%d", i), Unit: "份",
			WeightG: 500, VolumeML: 600, Zone: "ambient", Bin: fmt.Sprintf("A-%05d", i)}
		offers[i] = offerBody{SKU: products[i].SKU, PriceFen: 990, StockCap: fulfillment.MaxStockCap}
	}
	if err := ops.saveProducts(products); err != nil {
		return nil, err
	}
	items, err := ops.publish(wid, city.date, offers)
	if err != nil {
		return nil, err
	}
	city.hot, city.others = items[0], items[1:]
	return city, nil
}

// order returns a 3-line order: the hot SKU and two others.
func (c *loadCity) order(rng *rand.Rand, leader int) []byte {
	a := c.others[rng.IntN(len(c.others))]
	b := c.others[rng.IntN(len(c.others))]
	for b == a {
		b = c.others[rng.IntN(len(c.others))]
	}
	type line struct {
		SaleItemID int64 `json:"sale_item_id"`
		Quantity   int64 `json:"quantity"`
	}
	body, _ := json.Marshal(struct {
		Resident personBody `json:"resident"`
		Lines    []line     `json:"lines"`
	}{
		Resident: personBody{Phone: fmt.Sprintf("15%04d%05d", leader, rng.IntN(40)), Name: "居民"},
		Lines:    []line{{c.hot, 1}, {a, int64(1 + rng.IntN(3))}, {b, 1}},
	})
	return body
}

type loadResult struct {
	ok, soldOut, other, fiveXX int64
	rate                       float64
	p50, p95, p99, max         float64
}

// post places an order under an idempotency key.
func post(client *http.Client, api, token, key string, body []byte) (int, []byte, error) {
	return postJSON(client, api+"/api/v1/leader/orders", token, body, "Idempotency-Key", key)
}

func driveOrders(ctx context.Context, api string, city *loadCity, lc loadConfig) loadResult {
	client := loadgen.Client(lc.clients)
	start := time.Now()
	measureFrom, measureTo := start.Add(lc.warmup), start.Add(lc.warmup+lc.duration)
	var mu sync.Mutex
	var lat loadgen.Latencies
	var res loadResult
	loadgen.Clients(lc.clients, 7, func(_ int, rng *rand.Rand) {
		var mine []float64
		var ok, soldOut, other, fiveXX int64
		for ctx.Err() == nil {
			t0 := time.Now()
			if !t0.Before(measureTo) {
				break
			}
			leader := rng.IntN(len(city.tokens))
			key := "load-" + strconv.FormatInt(city.nextKey.Add(1), 10)
			status, body, err := post(client, api, city.tokens[leader], key, city.order(rng, leader))
			t1 := time.Now()
			if t0.Before(measureFrom) {
				continue
			}
			switch {
			case err == nil && status == http.StatusCreated:
				ok++
				mine = append(mine, float64(t1.Sub(t0).Microseconds())/1000)
			case err == nil && status == http.StatusConflict && bytes.Contains(body, []byte("sold_out")):
				soldOut++
			default:
				other++
				if status >= 500 {
					fiveXX++
				}
			}
		}
		lat.Add(mine)
		mu.Lock()
		res.ok, res.soldOut, res.other, res.fiveXX = res.ok+ok, res.soldOut+soldOut, res.other+other, res.fiveXX+fiveXX
		mu.Unlock()
	})
	res.rate = float64(res.ok) / lc.duration.Seconds()
	res.p50, res.p95, res.p99, res.max = lat.Quantiles()
	return res
}

type burstResult struct {
	accepted, soldOut, other              int64
	cap, soldBefore, soldAfter, fromLines int64
}

// sellOut sets the hot SKU's cap to 500 above what is sold and fires more
// orders than that at it, concurrently; then the counters must match the rows.
func sellOut(ctx context.Context, db *sqlx.DB, ops *opsClient, api string, city *loadCity, lc loadConfig) (burstResult, error) {
	var r burstResult
	if err := db.GetContext(ctx, &r.soldBefore, `SELECT sold FROM sale_items WHERE id = $1`, city.hot); err != nil {
		return r, err
	}
	r.cap = r.soldBefore + 500
	if err := ops.setCap(city.hot, r.cap); err != nil {
		return r, err
	}
	client := loadgen.Client(lc.clients)
	var next atomic.Int64
	var accepted, soldOut, other atomic.Int64
	loadgen.Clients(lc.clients, 9, func(_ int, rng *rand.Rand) {
		for next.Add(1) <= int64(lc.burst) && ctx.Err() == nil {
			leader := rng.IntN(len(city.tokens))
			key := "burst-" + strconv.FormatInt(city.nextKey.Add(1), 10)
			status, body, err := post(client, api, city.tokens[leader], key, city.order(rng, leader))
			switch {
			case err == nil && status == http.StatusCreated:
				accepted.Add(1)
			case err == nil && status == http.StatusConflict && bytes.Contains(body, []byte("sold_out")):
				soldOut.Add(1)
			default:
				other.Add(1)
			}
		}
	})
	r.accepted, r.soldOut, r.other = accepted.Load(), soldOut.Load(), other.Load()
	err := db.GetContext(ctx, &r.soldAfter, `SELECT sold FROM sale_items WHERE id = $1`, city.hot)
	if err == nil {
		err = db.GetContext(ctx, &r.fromLines, `SELECT coalesce(sum(ol.quantity), 0) FROM order_lines ol
			JOIN orders o ON o.id = ol.order_id WHERE ol.sale_item_id = $1 AND o.status = 'placed'`, city.hot)
	}
	return r, err
}

var tpsRe = regexp.MustCompile(`tps = ([0-9.]+) \(without initial connection time\)`)

// runPgbench initialises a scratch pgbench database on the same server and
// runs the default script with the same client count.
func runPgbench(ctx context.Context, dbURL string, lc loadConfig) (float64, error) {
	name := "groupbuy_pgbench_" + randomHex(4)
	pgURL, err := withDatabase(dbURL, name)
	if err != nil {
		return 0, err
	}
	if err := adminExec(ctx, dbURL, "CREATE DATABASE "+name); err != nil {
		return 0, err
	}
	defer adminExec(context.Background(), dbURL, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	if out, err := exec.CommandContext(ctx, "pgbench", "-i", "-q", "-s", strconv.Itoa(lc.pgScale), pgURL).CombinedOutput(); err != nil {
		return 0, fmt.Errorf("pgbench -i: %v\n%s", err, out)
	}
	out, err := exec.CommandContext(ctx, "pgbench", "-c", strconv.Itoa(lc.clients), "-j", "2",
		"-T", strconv.Itoa(int(lc.duration.Seconds())), pgURL).CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("pgbench: %v\n%s", err, out)
	}
	m := tpsRe.FindSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("no tps in pgbench output:\n%s", out)
	}
	return strconv.ParseFloat(string(m[1]), 64)
}

// overloadIntake offers orders faster than intake commits them: every answer
// must be 201, 409 sold_out or 503 with Retry-After (never another 5xx), and
// every 201 must be an order in the database.
func overloadIntake(ctx context.Context, db *sqlx.DB, api string, city *loadCity, lc loadConfig, rate float64, stdout io.Writer) error {
	n := int(rate * lc.overloadFor.Seconds())
	rngs := sync.Pool{New: func() any { return rand.New(rand.NewPCG(rand.Uint64(), 11)) }}
	t0 := time.Now()
	r := loadgen.FireOrders(ctx, api, n, lc.inflight, rate, func(i int) (string, string, []byte) {
		rng := rngs.Get().(*rand.Rand)
		defer rngs.Put(rng)
		leader := rng.IntN(len(city.tokens))
		return city.tokens[leader], "over-" + strconv.FormatInt(city.nextKey.Add(1), 10), city.order(rng, leader)
	})
	took := time.Since(t0)
	var stored int64
	if err := db.GetContext(ctx, &stored, `SELECT count(*) FROM orders WHERE id = ANY($1)`, pq.Array(r.CreatedIDs)); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\noverload: %d orders offered open loop at %.0f/s (%.1f× the measured rate) over %s, at most %d in flight\n",
		r.Sent, rate, lc.overload, took.Round(time.Millisecond), lc.inflight)
	fmt.Fprintf(stdout, "  201 created %d (%.0f/s; %d found in the database), 409 sold out %d, 503 %d (%d without Retry-After)\n",
		r.Created, float64(r.Created)/took.Seconds(), stored, r.SoldOut, r.Unavailable, r.NoRetryAfter)
	fmt.Fprintf(stdout, "  other 4xx %d, 5xx other than 503 %d, transport errors %d\n", r.Other4xx, r.FiveXX, r.Transport)
	fmt.Fprintf(stdout, "  latency of 201s    p50 %.1f ms  p95 %.1f ms  p99 %.1f ms  max %.1f ms\n", r.Pct(0.5), r.Pct(0.95), r.Pct(0.99), r.Pct(1))
	if r.FiveXX > 0 || r.NoRetryAfter > 0 || r.Transport > 0 || r.Other4xx > 0 || stored != r.Created {
		return fmt.Errorf("loadtest: overload answered outside 201/409 sold_out/503 with Retry-After, or lost an order")
	}
	return nil
}
