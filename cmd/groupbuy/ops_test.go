package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"groupbuy/fulfillment/catalog"
	"groupbuy/internal/clock"
	"groupbuy/pickup"
)

func TestOpsSetUpACity(t *testing.T) {
	t.Parallel()
	c := newTestCity(t, 0)
	wh := map[string]any{"code": "BJ-CY", "name": "北京朝阳仓", "lat": 39.92, "lng": 116.44, "time_zone": "Asia/Shanghai",
		"cutoff_local": "22:30", "delivery_start": "06:30", "delivery_end": "09:00"}
	r := c.do("POST", "/api/v1/ops/warehouses", c.admin, wh)
	var w pickup.Warehouse
	r.json(t, &w)
	if r.Status != http.StatusCreated || w.CutoffLocal.String() != "22:30" || w.DeliveryEnd.String() != "09:00" {
		t.Fatalf("create warehouse: %d %s", r.Status, r.Body)
	}
	if r := c.do("POST", "/api/v1/ops/warehouses", c.admin, wh); r.Status != http.StatusConflict {
		t.Fatalf("duplicate warehouse: %d %s", r.Status, r.Body)
	}
	for field, bad := range map[string]any{"time_zone": "Mars/Olympus", "cutoff_local": "25:00", "lat": 91.0, "lng": -181.0, "code": "a b"} {
		body := map[string]any{}
		for k, v := range wh {
			body[k] = v
		}
		body[field], body["code"] = bad, "X"+field
		if field == "code" {
			body["code"] = bad
		}
		r := c.do("POST", "/api/v1/ops/warehouses", c.admin, body)
		if r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), `"field":"`+field+`"`) {
			t.Errorf("bad %s: %d %s", field, r.Status, r.Body)
		}
	}

	// A point with a new leader issues the leader's token, once.
	pt := map[string]any{"code": "CY001", "warehouse_id": w.ID, "name": "望京花园自提点", "address": "望京街 1 号",
		"lat": 39.99, "lng": 116.47, "opens": "08:00", "closes": "21:00", "leader": map[string]any{"name": "王团长", "phone": "13600000001"}}
	r = c.do("POST", "/api/v1/ops/pickup-points", c.admin, pt)
	var pc pickup.PointCreated
	r.json(t, &pc)
	if r.Status != http.StatusCreated || pc.LeaderToken == "" || pc.Point.WarehouseID != w.ID {
		t.Fatalf("create point: %d %s", r.Status, r.Body)
	}
	if r := c.do("GET", "/api/v1/leader/me", pc.LeaderToken, nil); r.Status != http.StatusOK || !strings.Contains(string(r.Body), "望京花园自提点") {
		t.Fatalf("new leader's token: %d %s", r.Status, r.Body)
	}
	pt["name"] = "望京花园东门自提点"
	r = c.do("POST", "/api/v1/ops/pickup-points", c.admin, pt)
	var updated pickup.PointCreated
	r.json(t, &updated)
	if r.Status != http.StatusCreated || updated.LeaderToken != "" || updated.Point.ID != pc.Point.ID || updated.Point.Name != "望京花园东门自提点" {
		t.Fatalf("update point: %d %s", r.Status, r.Body)
	}

	// Products and a sale for a date; the warehouse role may read, not write.
	warehouseToken := c.staffToken("warehouse")
	prod := map[string]any{"sku": "MILK", "name": "鲜牛奶", "unit": "瓶", "weight_g": 1000, "volume_ml": 950, "zone": "chilled", "bin": "C-02-01"}
	if r := c.do("POST", "/api/v1/ops/products", warehouseToken, prod); r.Status != http.StatusForbidden {
		t.Fatalf("warehouse role writing: %d %s", r.Status, r.Body)
	}
	if r := c.do("POST", "/api/v1/ops/products", c.admin, prod); r.Status != http.StatusOK {
		t.Fatalf("product: %d %s", r.Status, r.Body)
	}
	prod["zone"] = "warm"
	if r := c.do("POST", "/api/v1/ops/products", c.admin, prod); r.Status != http.StatusBadRequest {
		t.Fatalf("bad zone: %d %s", r.Status, r.Body)
	}
	sale := map[string]any{"warehouse_id": w.ID, "delivery_date": "2026-12-01", "items": []map[string]any{{"sku": "MILK", "price_fen": 1290, "stock_cap": 5}}}
	r = c.do("POST", "/api/v1/ops/sale-items", c.admin, sale)
	var published struct{ Items []catalog.SaleItem }
	r.json(t, &published)
	if r.Status != http.StatusOK || len(published.Items) != 1 || published.Items[0].Remaining != 5 {
		t.Fatalf("publish: %d %s", r.Status, r.Body)
	}
	milk := published.Items[0]
	for name, items := range map[string][]map[string]any{
		"same product twice": {{"sku": "MILK", "price_fen": 1290, "stock_cap": 5}, {"product_id": milk.ProductID, "price_fen": 1290, "stock_cap": 5}},
		"no price":           {{"sku": "MILK", "stock_cap": 5}},
		"no cap":             {{"sku": "MILK", "price_fen": 1290}},
	} {
		bad := map[string]any{"warehouse_id": w.ID, "delivery_date": "2026-12-01", "items": items}
		if r := c.do("POST", "/api/v1/ops/sale-items", c.admin, bad); r.Status != http.StatusBadRequest {
			t.Errorf("%s: %d %s", name, r.Status, r.Body)
		}
	}
	if r := c.do("GET", fmt.Sprintf("/api/v1/ops/sale-items?warehouse_id=%d&date=2026-12-01", w.ID), warehouseToken, nil); r.Status != http.StatusOK || !strings.Contains(string(r.Body), "鲜牛奶") {
		t.Fatalf("list sale items: %d %s", r.Status, r.Body)
	}
	if r := c.do("POST", "/api/v1/leader/orders", pc.LeaderToken, orderBody("13900000009", "赵六", milk.ID, 4), "Idempotency-Key", "m1"); r.Status != http.StatusCreated {
		t.Fatalf("order milk: %d %s", r.Status, r.Body)
	}
	path := fmt.Sprintf("/api/v1/ops/sale-items/%d", milk.ID)
	if r := c.do("PATCH", path, c.admin, map[string]any{"stock_cap": 3}); r.Status != http.StatusConflict || r.errorCode(t) != "cap_below_sold" {
		t.Fatalf("cap below sold: %d %s", r.Status, r.Body)
	}
	if r := c.do("PATCH", path, c.admin, map[string]any{"stock_cap": 4}); r.Status != http.StatusOK {
		t.Fatalf("cap to sold: %d %s", r.Status, r.Body)
	}
	if r := c.do("POST", "/api/v1/leader/orders", pc.LeaderToken, orderBody("13900000009", "赵六", milk.ID, 1), "Idempotency-Key", "m2"); r.Status != http.StatusConflict || !strings.Contains(string(r.Body), `"remaining":0`) {
		t.Fatalf("order past cap: %d %s", r.Status, r.Body)
	}
	// The leader of another warehouse cannot buy this warehouse's items.
	if r := c.do("POST", "/api/v1/leader/orders", c.newLeaderElsewhere(), orderBody("13900000010", "孙七", milk.ID, 1), "Idempotency-Key", "m3"); r.Status != http.StatusUnprocessableEntity {
		t.Fatalf("foreign warehouse item: %d %s", r.Status, r.Body)
	}
}

func (c *testCity) staffToken(role string) string {
	c.t.Helper()
	r := c.do("POST", "/api/v1/ops/tokens", c.admin, map[string]any{"role": role, "name": role + " staff"})
	var tok struct{ Token string }
	r.json(c.t, &tok)
	if r.Status != http.StatusCreated {
		c.t.Fatalf("issue %s token: %d %s", role, r.Status, r.Body)
	}
	return tok.Token
}

// newLeaderElsewhere adds a leader at the test city's own warehouse (not the
// one created in the test) and returns the token.
func (c *testCity) newLeaderElsewhere() string {
	c.t.Helper()
	pc, err := c.app.pickup.SavePoint(context.Background(), pickup.PointInput{
		Point:      pickup.Point{Code: "ELSE", WarehouseID: c.warehous.ID, Name: "别处", Lat: 31, Lng: 121, Opens: clock.NewTimeOfDay(8, 0), Closes: clock.NewTimeOfDay(20, 0)},
		LeaderName: "别处团长", LeaderPhone: "13311112222"})
	if err != nil {
		c.t.Fatal(err)
	}
	return pc.LeaderToken
}

func TestCSVImports(t *testing.T) {
	t.Parallel()
	c := newTestCity(t, 0)
	products := "\ufeffsku,name,unit,weight_g,volume_ml,zone,bin,category\n" +
		"APPLE,红富士苹果,份,1500,2000,ambient,A-03-01,水果\n" +
		"\"PEAR\",\"皇冠梨, 大果\",份,1200,1800,ambient,A-03-02,水果\n"
	r := c.do("POST", "/api/v1/ops/products/import", c.admin, products, "Content-Type", "text/csv")
	if r.Status != http.StatusOK || !strings.Contains(string(r.Body), `"imported":2`) || !strings.Contains(string(r.Body), "皇冠梨, 大果") {
		t.Fatalf("import products: %d %s", r.Status, r.Body)
	}
	before := c.count("products")
	bad := "sku,name,unit,weight_g,volume_ml,zone,bin\nKIWI,猕猴桃,份,500,600,ambient,A-04-01\nBAD,坏行,份,-3,600,ambient,A-04-02\n"
	r = c.do("POST", "/api/v1/ops/products/import", c.admin, bad)
	if r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), "line 3") || !strings.Contains(string(r.Body), `"field":"weight_g"`) {
		t.Fatalf("bad product row: %d %s", r.Status, r.Body)
	}
	if c.count("products") != before {
		t.Fatal("a failed import wrote products")
	}
	for name, body := range map[string]string{
		"missing column": "sku,name\nA,b\n",
		"ragged row":     "sku,name,unit,weight_g,volume_ml,zone,bin\nA,b,c\n",
		"bad quote":      "sku,name,unit,weight_g,volume_ml,zone,bin\n\"A,b,c,1,1,ambient,x\n",
		"empty":          "",
	} {
		if r := c.do("POST", "/api/v1/ops/products/import", c.admin, body); r.Status != http.StatusBadRequest {
			t.Errorf("%s: %d %s", name, r.Status, r.Body)
		}
	}

	points := "code,warehouse_code,name,address,lat,lng,opens,closes,leader_name,leader_phone\n" +
		"MH9001,SH-MH,梅陇新村自提点,梅陇路 1 号,31.10,121.40,08:00,21:00,钱团长,13500000001\n" +
		"MH9002,SH-MH,古美花园自提点,古美路 2 号,31.15,121.39,08:30,20:30,周团长,13500000002\n"
	r = c.do("POST", "/api/v1/ops/pickup-points/import", c.admin, points)
	var imp struct {
		Imported     int
		PickupPoints []pickup.PointCreated `json:"pickup_points"`
	}
	r.json(t, &imp)
	if r.Status != http.StatusOK || imp.Imported != 2 || imp.PickupPoints[1].LeaderToken == "" {
		t.Fatalf("import points: %d %s", r.Status, r.Body)
	}
	if r := c.do("GET", "/api/v1/leader/me", imp.PickupPoints[1].LeaderToken, nil); r.Status != http.StatusOK {
		t.Fatalf("imported leader's token: %d %s", r.Status, r.Body)
	}
	beforePoints, beforeLeaders := c.count("pickup_points"), c.count("leaders")
	badPoints := "code,warehouse_code,name,address,lat,lng,opens,closes,leader_name,leader_phone\n" +
		"MH9003,SH-MH,新点,路,31.1,121.4,08:00,21:00,吴团长,13500000003\n" +
		"MH9004,NOPE,新点,路,31.1,121.4,08:00,21:00,郑团长,13500000004\n"
	r = c.do("POST", "/api/v1/ops/pickup-points/import", c.admin, badPoints)
	if r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), "line 3") || !strings.Contains(string(r.Body), "warehouse_code") {
		t.Fatalf("bad point row: %d %s", r.Status, r.Body)
	}
	badLat := strings.Replace(badPoints, "NOPE", "SH-MH", 1)
	badLat = strings.Replace(badLat, "MH9004,SH-MH,新点,路,31.1", "MH9004,SH-MH,新点,路,95", 1)
	r = c.do("POST", "/api/v1/ops/pickup-points/import", c.admin, badLat)
	if r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), "line 3") || !strings.Contains(string(r.Body), `"field":"lat"`) {
		t.Fatalf("bad latitude row: %d %s", r.Status, r.Body)
	}
	if c.count("pickup_points") != beforePoints || c.count("leaders") != beforeLeaders {
		t.Fatal("a failed import wrote pickup points or leaders")
	}
}

func TestHealthAndHeartbeat(t *testing.T) {
	t.Parallel()
	c := newTestCity(t, 0)
	r := c.do("GET", "/healthz", "", nil)
	if r.Status != http.StatusOK || !strings.Contains(string(r.Body), `"database":"ok"`) || !strings.Contains(string(r.Body), `"redis":"ok"`) {
		t.Fatalf("healthz: %d %s", r.Status, r.Body)
	}
	w, err := newWorker(c.app, workerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.run(ctx) }()
	client := asynq.NewClient(c.app.redis)
	defer client.Close()
	if _, err := client.Enqueue(asynq.NewTask(taskHeartbeat, nil)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(string(c.do("GET", "/healthz", "", nil).Body), "worker_heartbeat") {
		if time.Now().After(deadline) {
			t.Fatal("the worker never ran the heartbeat task")
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// With the database gone, health says so.
	c.app.db.Close()
	if r := c.do("GET", "/healthz", "", nil); r.Status != http.StatusServiceUnavailable {
		t.Fatalf("healthz without database: %d %s", r.Status, r.Body)
	}
}
