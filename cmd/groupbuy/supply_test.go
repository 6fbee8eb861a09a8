package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"groupbuy/cmd/internal/config"
	"groupbuy/cmd/internal/webhook"
	"groupbuy/fulfillment"
	"groupbuy/fulfillment/catalog"
	"groupbuy/fulfillment/stock"
	"groupbuy/fulfillment/supplieraccount"
	"groupbuy/fulfillment/supply"
	"groupbuy/fulfillment/wave"
	"groupbuy/internal/clock"
	"groupbuy/internal/testenv"
)

// TestNightBuysReceivesAndAllocates runs a night from cutoff to ready with
// no receipt typed by hand: at cutoff the sales become a purchase order,
// sent to the supplier's webhook; the supplier delivers eggs short with
// rejects; the dock records its scans and closes the order; allocation
// starts by itself, cuts what did not come, and what was bought beyond the
// sales stays as stock.
func TestNightBuysReceivesAndAllocates(t *testing.T) {
	t.Parallel()
	c := newTestCity(t, 4)
	egg, rice, dumpling := c.item("EGG"), c.item("RICE"), c.item("DUMPLING")
	c.addVehicleType(map[string]any{"code": "VAN", "name": "1.5吨冷藏厢式车", "chilled": true, "frozen": true, "count": 3, "capacity_g": 1_500_000, "capacity_ml": 8_000_000,
		"shift_start": "05:00", "shift_end": "12:00", "fixed_cost_fen": 30000, "cost_per_km_fen": 150})
	const secret = "fresh-supplier-secret-42"
	rc := webhook.NewReceiver(secret)
	hook := httptest.NewServer(rc)
	t.Cleanup(hook.Close)
	ops, dock := c.staffToken("ops"), c.staffToken("warehouse")

	var sup supply.Supplier
	r := c.do("POST", "/api/v1/ops/suppliers", ops, map[string]any{"code": "FRESH", "name": "鲜农供应链", "contact": "王经理 13900000000",
		"channel": "webhook", "webhook_url": hook.URL, "webhook_secret": secret})
	if r.Status != http.StatusOK {
		t.Fatalf("supplier: %d %s", r.Status, r.Body)
	}
	r.json(t, &sup)
	for _, it := range []struct {
		id         int64
		pack, cost int64
	}{{egg.ProductID, 6, 1200}, {rice.ProductID, 1, 3000}, {dumpling.ProductID, 10, 1000}} {
		r := c.do("PUT", fmt.Sprintf("/api/v1/ops/products/%d/supply-terms", it.id), ops, map[string]any{"terms": []map[string]any{
			{"supplier_id": sup.ID, "priority": 1, "share_pct": 0, "case_pack": it.pack, "price_fen": it.cost, "delivery_slot": "02:00"}}})
		if r.Status != http.StatusOK {
			t.Fatalf("terms: %d %s", r.Status, r.Body)
		}
	}
	// 4 points order 3 eggs, 1 rice and 2 dumplings each: 12, 4 and 8 sold.
	for l := range 4 {
		body := orderBody(fmt.Sprintf("1591%02d00000", l), "居民", egg.ID, 3, rice.ID, 1, dumpling.ID, 2)
		if r := c.do("POST", "/api/v1/leader/orders", c.leaders[l], body, "Idempotency-Key", "s1"); r.Status != http.StatusCreated {
			t.Fatalf("order: %d %s", r.Status, r.Body)
		}
	}
	path := c.wavePath()
	var forecast supply.Forecast
	c.do("GET", path+"/purchase-forecast", dock, nil).json(t, &forecast)
	if len(forecast.Orders) != 1 || forecast.Orders[0].Units != 12+4+10 {
		t.Fatalf("forecast during the day: %+v", forecast)
	}

	// The night: the worker closes the wave at cutoff and runs the purchase stage.
	startNight(t, c)
	var orders supply.WaveOrders
	waitFor(t, "the purchase order sent to the supplier", func() bool {
		c.do("GET", path+"/purchase-orders", dock, nil).json(t, &orders)
		return len(orders.Orders) == 1 && orders.Orders[0].State == supply.OrderSent
	})
	po := orders.Orders[0]
	if distinct, _, bad := rc.Stats(); distinct != 1 || bad != 0 {
		t.Fatalf("the supplier got %d orders (%d badly signed)", distinct, bad)
	}
	for key, n := range rc.Notices() {
		if !strings.HasPrefix(key, po.Number+":") || n.Kind != "purchase_order" || !strings.Contains(n.Text, po.Number) {
			t.Fatalf("the supplier got %s: %+v", key, n)
		}
	}
	line := map[string]supply.PurchaseOrderLine{}
	for _, l := range po.Lines {
		line[l.SKU] = l
	}
	if line["EGG"].Quantity != 12 || line["RICE"].Quantity != 4 || line["DUMPLING"].Quantity != 10 {
		t.Fatalf("order lines %+v", po.Lines)
	}

	// The dock: eggs come 12, 3 of them cracked; dumplings a full case;
	// the rice in two trips, one scan sent twice by two scanners.
	scan := func(sku string, body map[string]any) response {
		return c.do("POST", fmt.Sprintf("/api/v1/ops/purchase-order-lines/%d/scans", line[sku].ID), dock, body)
	}
	for _, s := range []struct {
		sku  string
		body map[string]any
		want int
	}{
		{"EGG", map[string]any{"scan_id": "d-1", "arrived": 12, "accepted": 9, "rejected": 3, "reason": "damage",
			"lot": "E1130", "expires_on": "2026-12-10"}, http.StatusCreated},
		{"DUMPLING", map[string]any{"scan_id": "d-2", "arrived": 10, "accepted": 10, "lot": "F77", "expires_on": "2027-03-01"}, http.StatusCreated},
		{"RICE", map[string]any{"scan_id": "d-3", "arrived": 3, "accepted": 3}, http.StatusCreated},
		{"RICE", map[string]any{"scan_id": "d-3", "arrived": 3, "accepted": 3}, http.StatusOK},
		{"RICE", map[string]any{"scan_id": "d-4", "arrived": 1, "accepted": 1}, http.StatusCreated},
		{"RICE", map[string]any{"scan_id": "d-5", "arrived": 2, "accepted": 2}, http.StatusUnprocessableEntity}, // 6 > 4 + one case
	} {
		if r := scan(s.sku, s.body); r.Status != s.want {
			t.Fatalf("scan %v: %d %s", s.body, r.Status, r.Body)
		}
	}
	var wv wave.Wave
	c.do("GET", path, dock, nil).json(t, &wv)
	if wv.State != wave.Closed || wv.WaitingFor == nil || !strings.Contains(wv.WaitingFor.Message, "0 of 1 purchase orders") {
		t.Fatalf("before the close the wave waits for %+v", wv.WaitingFor)
	}
	if r := c.do("POST", fmt.Sprintf("/api/v1/ops/purchase-orders/%d/close", po.ID), dock, map[string]any{"outcome": "received"}); r.Status != http.StatusOK {
		t.Fatalf("close: %d %s", r.Status, r.Body)
	}
	if r := scan("RICE", map[string]any{"scan_id": "d-6", "arrived": 1, "accepted": 1}); r.Status != http.StatusConflict {
		t.Fatalf("a scan on a closed order: %d %s", r.Status, r.Body)
	}
	// The order's scans, as recorded: the scan sent twice and the refused one are not there twice or at all.
	var scans supply.ScanList
	if r := c.do("GET", fmt.Sprintf("/api/v1/ops/purchase-orders/%d/scans", po.ID), dock, nil); r.Status != http.StatusOK {
		t.Fatalf("scans: %d %s", r.Status, r.Body)
	} else if r.json(t, &scans); len(scans.Scans) != 4 || scans.Scans[0].ScanID != "d-1" || scans.Scans[0].Reason != "damage" || scans.Scans[3].ScanID != "d-4" {
		t.Fatalf("scans %+v", scans.Scans)
	}

	waitFor(t, "the wave ready", func() bool {
		c.do("GET", path, dock, nil).json(t, &wv)
		return wv.State == wave.Ready
	})
	// 12 eggs sold, 9 accepted: 3 cut for shortage; rice and dumplings whole.
	if wv.Refunds.ByReason["shortage"].Units != 3 || wv.Refunds.Units != 3 || c.count("receipt_overrides") != 0 {
		t.Fatalf("refunds %+v, %d receipts typed by hand", wv.Refunds, c.count("receipt_overrides"))
	}
	var stock stock.Stock
	c.do("GET", fmt.Sprintf("/api/v1/ops/warehouses/%d/stock?date=%s", c.warehous.ID, c.date), dock, nil).json(t, &stock)
	left := map[int64]int64{}
	for _, p := range stock.Products {
		left[p.ProductID] = p.OnHand
	}
	// Bought a case of 10 dumplings for 8 sold: 2 stay; eggs and rice are all out.
	if left[dumpling.ProductID] != 2 || left[egg.ProductID] != 0 || left[rice.ProductID] != 0 {
		t.Fatalf("stock after the night %+v", stock)
	}
	checkSupplyPaper(t, c, po, sup)
	// The leftover is stock for the next sale: ops see it beside the cap they publish.
	next := fulfillment.Date{Time: c.date.AddDate(0, 0, 1)}.String()
	var items catalog.SaleItemList
	r = c.do("POST", "/api/v1/ops/sale-items", ops, map[string]any{"warehouse_id": c.warehous.ID, "delivery_date": next,
		"items": []map[string]any{{"product_id": dumpling.ProductID, "price_fen": 1500, "stock_cap": 100}}})
	r.json(t, &items)
	if r.Status != http.StatusOK || len(items.Items) != 1 || items.Items[0].UsableStock == nil || *items.Items[0].UsableStock != 2 {
		t.Fatalf("publishing the next day: %d %s", r.Status, r.Body)
	}
	c.do("GET", fmt.Sprintf("/api/v1/ops/sale-items?warehouse_id=%d&date=%s", c.warehous.ID, next), dock, nil).json(t, &items)
	if len(items.Items) != 1 || *items.Items[0].UsableStock != 2 {
		t.Fatalf("the next day's sale items %+v", items)
	}
}

// checkSupplyPaper reads the night's supply documents through the API: the
// purchase order as PDF, the receiving sheet, the return of the rejected
// eggs (made once) and the supplier's statement to the fen.
func checkSupplyPaper(t *testing.T, c *testCity, po supply.PurchaseOrder, sup supply.Supplier) {
	t.Helper()
	ops, dock := c.staffToken("ops"), c.staffToken("warehouse")
	r := c.do("GET", fmt.Sprintf("/api/v1/ops/purchase-orders/%d/pdf", po.ID), dock, nil)
	if text := strings.Join(strings.Fields(testenv.PDFText(t, r.Body)), ""); r.Status != http.StatusOK ||
		!strings.Contains(text, po.Number) || !strings.Contains(text, "鲜农供应链") || !strings.Contains(text, "共26件") {
		t.Fatalf("purchase order PDF: %d\n%s", r.Status, text)
	}
	r = c.do("GET", c.wavePath()+"/receiving-sheet?format=csv", dock, nil)
	if s := string(r.Body); r.Status != http.StatusOK || !strings.Contains(s, ",12,12,9,3,破损 3,E1130 至 2026-12-10 ×9") {
		t.Fatalf("receiving sheet: %d\n%s", r.Status, s)
	}
	var returns supplieraccount.ReturnList
	for run, want := range []int{1, 0} {
		r = c.do("POST", c.wavePath()+"/supplier-returns", dock, nil)
		r.json(t, &returns)
		if r.Status != http.StatusOK || len(returns.Returns) != want {
			t.Fatalf("returning the rejects, run %d: %d %s", run, r.Status, r.Body)
		}
		if want == 1 && (returns.Returns[0].Units != 3 || returns.Returns[0].AmountFen != 3*1200) {
			t.Fatalf("return %+v", returns.Returns[0])
		}
	}
	r = c.do("GET", "/api/v1/ops/supplier-returns", dock, nil)
	r.json(t, &returns)
	if len(returns.Returns) != 1 {
		t.Fatalf("returns %s", r.Body)
	}
	r = c.do("GET", fmt.Sprintf("/api/v1/ops/supplier-returns/%d/document", returns.Returns[0].ID), dock, nil)
	if text := strings.Join(strings.Fields(testenv.PDFText(t, r.Body)), ""); !strings.Contains(text, "退供单") || !strings.Contains(text, "共3件金额36.00元") {
		t.Fatalf("return document:\n%s", text)
	}
	// Accepted: 9 eggs × 12.00, 4 rice × 30.00, 10 dumplings × 10.00.
	var st supplieraccount.Statement
	r = c.do("GET", fmt.Sprintf("/api/v1/ops/suppliers/%d/statement?month=%s", sup.ID, c.date.Format("2006-01")), ops, nil)
	r.json(t, &st)
	if r.Status != http.StatusOK || st.AcceptedFen != 9*1200+4*3000+10*1000 || st.NetFen != st.AcceptedFen || len(st.Lines) != 3 {
		t.Fatalf("statement: %d %s", r.Status, r.Body)
	}
	if r := c.do("GET", fmt.Sprintf("/api/v1/ops/suppliers/%d/statement?month=2026-13", sup.ID), ops, nil); r.Status != http.StatusBadRequest {
		t.Fatalf("a bad month: %d %s", r.Status, r.Body)
	}
	r = c.do("GET", fmt.Sprintf("/api/v1/ops/suppliers/%d/statement/csv?from=%s&to=%s", sup.ID, c.date, c.date), ops, nil)
	if !strings.Contains(string(r.Body), "合计,,,23,328.00,0,0.00,328.00") {
		t.Fatalf("statement CSV: %d\n%s", r.Status, r.Body)
	}
}

// waitFor polls cond for up to a minute.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited a minute for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// dockNight is a wave bought from one supplier by e-mail: 1,000 eggs
// (chilled) and 1,000 rice, case pack 1, on one purchase order that the
// purchase stage made and nobody has received yet.
type dockNight struct {
	app             *app
	dbURL, redisURL string
	supplierID      int64
	warehouseID     int64
	order           supply.PurchaseOrder
	egg, rice       supply.PurchaseOrderLine
	warehouseToken  string
}

func newDockNight(t *testing.T) *dockNight {
	t.Helper()
	ctx := context.Background()
	dbURL, redisURL := testenv.NewDatabase(t), testenv.Redis(t)
	a, err := newApp(ctx, config.Config{DatabaseURL: dbURL, RedisURL: redisURL, DBMaxConns: 5}, faultLog(t), clock.System{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.close)
	now := time.Now().UTC()
	c := buildCity(t, a, clock.System{}, fulfillment.Date{Time: time.Date(now.Year(), now.Month(), now.Day()+3, 0, 0, 0, 0, time.UTC)}, 4, 1000)
	srv := httptest.NewServer(a.handler())
	t.Cleanup(srv.Close)
	c.srv = srv
	sup, err := a.supply.SaveSupplier(ctx, supply.SupplierInput{Code: "DOCK", Name: "码头供应商", Channel: supply.ChannelEmail, Email: "po@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	egg, rice := c.item("EGG"), c.item("RICE")
	for _, it := range []int64{egg.ProductID, rice.ProductID} {
		if _, err := a.supply.SetTerms(ctx, it, []supply.TermInput{{SupplierID: sup.ID, Priority: 1, CasePack: 1, PriceFen: 100,
			DeliverySlot: clock.NewTimeOfDay(2, 0)}}); err != nil {
			t.Fatal(err)
		}
	}
	for l := range 4 {
		if r := c.do("POST", "/api/v1/leader/orders", c.leaders[l], orderBody(fmt.Sprintf("1592%02d00000", l), "居民", egg.ID, 250, rice.ID, 250),
			"Idempotency-Key", "k"); r.Status != http.StatusCreated {
			t.Fatalf("order: %d %s", r.Status, r.Body)
		}
	}
	var w wave.Wave
	if err := a.db.Get(&w, `SELECT id, warehouse_id FROM waves`); err != nil {
		t.Fatal(err)
	}
	if _, err := a.waves.Close(ctx, w.ID, true); err != nil {
		t.Fatal(err)
	}
	if ok, err := a.waves.RunStage(ctx, wave.StagePurchase, w.ID); err != nil || !ok {
		t.Fatalf("purchase: %v %v", ok, err)
	}
	orders, err := supply.ListPurchaseOrders(ctx, a.db, w.ID)
	if err != nil || len(orders.Orders) != 1 || len(orders.Orders[0].Lines) != 2 {
		t.Fatalf("orders %+v %v", orders, err)
	}
	po := orders.Orders[0]
	return &dockNight{app: a, dbURL: dbURL, redisURL: redisURL, supplierID: sup.ID, warehouseID: w.WarehouseID, order: po,
		egg: lineOf(t, po, "EGG"), rice: lineOf(t, po, "RICE"), warehouseToken: c.staffToken("warehouse")}
}

func lineOf(t *testing.T, po supply.PurchaseOrder, sku string) supply.PurchaseOrderLine {
	t.Helper()
	for _, l := range po.Lines {
		if l.SKU == sku {
			return l
		}
	}
	t.Fatalf("no %s on %s", sku, po.Number)
	return supply.PurchaseOrderLine{}
}

// dockPost is a request the dock sends until it is answered; id names it.
type dockPost struct {
	id, path string
	body     map[string]any
}

// killMidway sends the posts from 8 concurrent clients to a `groupbuy
// serve` process and SIGKILLs it once killAt of them are answered, then
// sends every post again to a new process, which must answer each.
func (n *dockNight) killMidway(t *testing.T, posts []dockPost, killAt int) {
	t.Helper()
	send := func(base string, acked chan<- string) {
		var wg sync.WaitGroup
		next := make(chan dockPost)
		for range 8 {
			wg.Go(func() {
				for p := range next {
					// A refused connection (the process is gone) is no answer.
					raw, _ := json.Marshal(p.body)
					req, _ := http.NewRequest("POST", base+p.path, bytes.NewReader(raw))
					req.Header.Set("Authorization", "Bearer "+n.warehouseToken)
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						continue
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode == http.StatusCreated || resp.StatusCode == http.StatusOK {
						acked <- p.id
					}
				}
			})
		}
		for _, p := range posts {
			next <- p
		}
		close(next)
		wg.Wait()
		close(acked)
	}
	base, _, cmd, _ := startServe(t, n.dbURL, n.redisURL)
	acked := make(chan string, len(posts))
	go send(base, acked)
	first := map[string]bool{}
	for id := range acked {
		if first[id] = true; len(first) == killAt {
			_ = cmd.Process.Kill() // SIGKILL, in the middle of the posts
		}
	}
	if len(first) < killAt || len(first) == len(posts) {
		t.Fatalf("%d of %d answered before the kill", len(first), len(posts))
	}
	base, _, _, _ = startServe(t, n.dbURL, n.redisURL)
	again := make(chan string, len(posts))
	go send(base, again)
	answered := map[string]bool{}
	for id := range again {
		answered[id] = true
	}
	if len(answered) != len(posts) {
		t.Fatalf("after the kill %d of %d posts answered", len(answered), len(posts))
	}
}

// TestDockScansSurviveAKill: scanners send 400 scans to a `groupbuy serve`
// process that is SIGKILLed halfway; they send every scan again to a new
// one. Each scan counts exactly once: 400 records, 400 units in stock, 400
// ledger movements, whether the first process had committed it or not.
func TestDockScansSurviveAKill(t *testing.T) {
	n := newDockNight(t)
	var scans []dockPost
	for i := range 400 {
		l := []supply.PurchaseOrderLine{n.egg, n.rice}[i%2]
		body := map[string]any{"scan_id": fmt.Sprintf("kill-%03d", i), "arrived": 1, "accepted": 1}
		if l.Zone != "ambient" {
			body["lot"], body["expires_on"] = "L1", "2099-01-01"
		}
		scans = append(scans, dockPost{body["scan_id"].(string), fmt.Sprintf("/api/v1/ops/purchase-order-lines/%d/scans", l.ID), body})
	}
	n.killMidway(t, scans, 150)
	var got struct {
		Records  int   `db:"records"`
		Accepted int64 `db:"accepted"`
		Stock    int64 `db:"stock"`
		Moves    int   `db:"moves"`
	}
	if err := n.app.db.Get(&got, `SELECT (SELECT count(*) FROM receiving_records) AS records,
		(SELECT sum(accepted) FROM receiving_records) AS accepted,
		(SELECT sum(quantity) FROM stock_movements) AS stock, (SELECT count(*) FROM stock_movements) AS moves`); err != nil {
		t.Fatal(err)
	}
	if got.Records != len(scans) || got.Accepted != int64(len(scans)) || got.Stock != int64(len(scans)) || got.Moves != len(scans) {
		t.Fatalf("after the kill and a resend: %+v, want every one of %d scans once", got, len(scans))
	}
}

// TestSupplierReturnsSurviveAKill: the dock received 1,000 rice with 200
// rejected and 1,000 eggs into lot L1; 80 returns to the supplier, each of
// one unit (rejected rice, or eggs from stock), go to a `groupbuy serve`
// process that is SIGKILLed partway, then all again to a new one. Each
// return is made once, with its line, and each egg leaves stock once.
func TestSupplierReturnsSurviveAKill(t *testing.T) {
	n := newDockNight(t)
	ctx := context.Background()
	exp := fulfillment.Date{Time: time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)}
	for _, s := range []struct {
		line int64
		scan supply.Scan
	}{
		{n.rice.ID, supply.Scan{ScanID: "rice", Arrived: 1000, Accepted: 800, Rejected: 200, Reason: supply.RejectDamage}},
		{n.egg.ID, supply.Scan{ScanID: "egg", Arrived: 1000, Accepted: 1000, Lot: "L1", ExpiresOn: &exp}},
	} {
		if _, _, err := n.app.supply.Receive(ctx, s.line, s.scan, "dock"); err != nil {
			t.Fatal(err)
		}
	}
	var returns []dockPost
	for i := range 80 {
		line := map[string]any{"purchase_order_line_id": n.rice.ID, "quantity": 1}
		if i%2 == 1 {
			line = map[string]any{"product_id": n.egg.ProductID, "lot": "L1", "expires_on": "2099-01-01", "reason": "quality", "quantity": 1}
		}
		id := fmt.Sprintf("return-%03d", i)
		returns = append(returns, dockPost{id, "/api/v1/ops/supplier-returns", map[string]any{"request_id": id,
			"supplier_id": n.supplierID, "warehouse_id": n.warehouseID, "lines": []any{line}}})
	}
	n.killMidway(t, returns, 25)
	var got struct {
		Returns  int   `db:"returns"`
		Keys     int   `db:"keys"`
		Lines    int   `db:"lines"`
		Rejected int64 `db:"rejected"`
		Moves    int   `db:"moves"`
		Moved    int64 `db:"moved"`
		Eggs     int64 `db:"eggs"`
	}
	if err := n.app.db.Get(&got, `SELECT (SELECT count(*) FROM supplier_returns) AS returns,
		(SELECT count(DISTINCT request_key) FROM supplier_returns WHERE request_key LIKE 'return-%') AS keys,
		(SELECT count(*) FROM supplier_return_lines) AS lines,
		(SELECT coalesce(sum(quantity), 0) FROM supplier_return_lines WHERE source = 'rejected') AS rejected,
		(SELECT count(*) FROM stock_movements WHERE kind = 'returned_to_supplier') AS moves,
		(SELECT coalesce(sum(quantity), 0) FROM stock_movements WHERE kind = 'returned_to_supplier') AS moved,
		(SELECT sum(quantity) FROM stock_movements WHERE product_id = $1 AND lot = 'L1') AS eggs`, n.egg.ProductID); err != nil {
		t.Fatal(err)
	}
	if got.Returns != 80 || got.Keys != 80 || got.Lines != 80 || got.Rejected != 40 || got.Moves != 40 || got.Moved != -40 || got.Eggs != 960 {
		t.Fatalf("after the kill and a resend: %+v, want each of 80 returns once: 40 rejected rice, 40 eggs out of stock, 960 left", got)
	}
}
