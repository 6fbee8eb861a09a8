package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"groupbuy/fulfillment"
	"groupbuy/fulfillment/catalog"
	"groupbuy/fulfillment/intake"
	"groupbuy/pickup"
)

// hostileCase is one request a hostile or broken client might send, with
// the answer it must get.
type hostileCase struct {
	name    string
	body    any      // string, []byte or a value to marshal
	headers []string // pairs; the order endpoint's cases get an Idempotency-Key unless they set one
	status  int
	code    string
	field   string // "" when the error names no field
}

// rowCounts counts the rows of tables, to show a refusal wrote nothing.
func (c *testCity) rowCounts(tables ...string) map[string]int {
	c.t.Helper()
	out := make(map[string]int, len(tables))
	for _, t := range tables {
		out[t] = c.count(t)
	}
	return out
}

// runHostile sends each case and checks its status, envelope, and that the
// tables are as before.
func runHostile(t *testing.T, c *testCity, method, path, token string, tables []string, cases []hostileCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := c.rowCounts(tables...)
			r := c.do(method, path, token, tc.body, tc.headers...)
			if r.Status >= 500 {
				t.Fatalf("server error %d: %.300s", r.Status, r.Body)
			}
			if r.Status != tc.status {
				t.Fatalf("status %d, want %d: %.300s", r.Status, tc.status, r.Body)
			}
			code, field := envelopeOf(t, r)
			if code != tc.code || field != tc.field {
				t.Fatalf("code %q field %q, want %q %q: %.300s", code, field, tc.code, tc.field, r.Body)
			}
			if after := c.rowCounts(tables...); fmt.Sprint(after) != fmt.Sprint(before) {
				t.Fatalf("a refused request wrote rows: before %v after %v", before, after)
			}
		})
	}
}

// deep nests n arrays inside a field of an otherwise plausible body.
func deep(field string, n int) string {
	return `{"` + field + `":` + strings.Repeat("[", n) + strings.Repeat("]", n) + `}`
}

// overMiB is a JSON body just over the 1 MiB limit, valid but for its size.
func overMiB(field string) string {
	return `{"` + field + `":"` + strings.Repeat("x", 1<<20) + `"}`
}

// Names that are legal and must come back byte for byte.
var hostileNames = []string{
	"张三丰",
	"👩‍👩‍👧 李家", // zero-width joiners inside the emoji
	"أحمد\u200f (RTL mark)",
	"\u202eabc\u202c 覆盖",
	"zwj\u200dnon\u200cjoiner",
	"'; DROP TABLE orders; --",
	`100% _under_ back\slash "quoted"`,
	`O'Brien\'); DELETE FROM residents WHERE ''='`,
}

// TestHostileOrders sends the order endpoint what a broken or hostile client
// might: each is refused with the exact status, code and field, and writes
// nothing; legal but unusual names are stored and read back exactly.
func TestHostileOrders(t *testing.T) {
	t.Parallel()
	c := newTestCity(t, 1)
	egg, rice := c.item("EGG"), c.item("RICE")
	leader := c.leaders[0]
	body := func(name, lines string) string {
		return `{"resident":{"phone":"13912345678","name":` + name + `},"lines":` + lines + `}`
	}
	line := func(qty string) string { return fmt.Sprintf(`[{"sale_item_id":%d,"quantity":%s}]`, egg.ID, qty) }
	ok := line("1")
	var many []string
	for i := range intake.MaxLinesPerOrder + 1 {
		many = append(many, fmt.Sprintf(`{"sale_item_id":%d,"quantity":1}`, i+1))
	}
	cases := []hostileCase{
		{name: "body over 1 MiB", body: overMiB("resident"), status: 400, code: "body_too_large"},
		{name: "depth 10000", body: strings.Repeat(`{"resident":`, 10000) + "1" + strings.Repeat("}", 10000), status: 400, code: "bad_json"},
		{name: "depth 10000 arrays", body: deep("lines", 10000), status: 400, code: "bad_json"},
		{name: "unknown field", body: `{"resident":{"phone":"13912345678","name":"a"},"lines":` + ok + `,"discount_fen":100}`, status: 400, code: "invalid_field", field: "discount_fen"},
		{name: "unknown nested field", body: fmt.Sprintf(`{"resident":{"phone":"13912345678","name":"a"},"lines":[{"sale_item_id":%d,"quantity":1,"price_fen":1}]}`, egg.ID), status: 400, code: "invalid_field", field: "lines[0].price_fen"},
		{name: "quantity 0", body: body(`"a"`, line("0")), status: 400, code: "invalid_field", field: "lines[0].quantity"},
		{name: "quantity -1", body: body(`"a"`, line("-1")), status: 400, code: "invalid_field", field: "lines[0].quantity"},
		{name: "quantity 2^31", body: body(`"a"`, line("2147483648")), status: 400, code: "invalid_field", field: "lines[0].quantity"},
		{name: "quantity 2^63", body: body(`"a"`, line("9223372036854775808")), status: 400, code: "invalid_field", field: "lines[0].quantity"},
		{name: "quantity 2^64", body: body(`"a"`, line("18446744073709551616")), status: 400, code: "invalid_field", field: "lines[0].quantity"},
		{name: "quantity 1e300", body: body(`"a"`, line("1e300")), status: 400, code: "invalid_field", field: "lines[0].quantity"},
		{name: "quantity 1e400", body: body(`"a"`, line("1e400")), status: 400, code: "invalid_field", field: "lines[0].quantity"},
		{name: "quantity string", body: body(`"a"`, line(`"3"`)), status: 400, code: "invalid_field", field: "lines[0].quantity"},
		{name: "quantity 3.5", body: body(`"a"`, line("3.5")), status: 400, code: "invalid_field", field: "lines[0].quantity"},
		{name: "quantity null", body: body(`"a"`, line("null")), status: 400, code: "invalid_field", field: "lines[0].quantity"},
		{name: "quantity above the cap of one order", body: body(`"a"`, line("10000")), status: 400, code: "invalid_field", field: "lines[0].quantity"},
		{name: "sale item 2^63", body: body(`"a"`, `[{"sale_item_id":9223372036854775808,"quantity":1}]`), status: 400, code: "invalid_field", field: "lines[0].sale_item_id"},
		{name: "sale item -1", body: body(`"a"`, `[{"sale_item_id":-1,"quantity":1}]`), status: 400, code: "invalid_field", field: "lines[0].sale_item_id"},
		{name: "101 lines", body: body(`"a"`, "["+strings.Join(many, ",")+"]"), status: 400, code: "invalid_field", field: "lines"},
		{name: "resident id 2^63", body: `{"resident":{"id":9223372036854775808},"lines":` + ok + `}`, status: 400, code: "invalid_field", field: "resident.id"},
		{name: "resident id -1", body: `{"resident":{"id":-1},"lines":` + ok + `}`, status: 400, code: "invalid_field", field: "resident.id"},
		{name: "null resident and lines", body: `{"resident":null,"lines":null}`, status: 400, code: "invalid_field", field: "resident.phone"},
		{name: "name a number", body: body(`5`, ok), status: 400, code: "invalid_field", field: "resident.name"},
		{name: "name control character", body: body(`"a\u0007b"`, ok), status: 400, code: "invalid_field", field: "resident.name"},
		{name: "name newline", body: body(`"a\nb"`, ok), status: 400, code: "invalid_field", field: "resident.name"},
		{name: "name NUL", body: body(`"a\u0000b"`, ok), status: 400, code: "invalid_field", field: "resident.name"},
		{name: "name invalid UTF-8", body: body("\"\xd5\xc5\xc8\xfd\"", ok), status: 400, code: "bad_json", field: "resident.name"},
		{name: "name lone surrogate", body: body(`"\udc00"`, ok), status: 400, code: "bad_json", field: "resident.name"},
		{name: "name 101 characters", body: body(`"`+strings.Repeat("长", 101)+`"`, ok), status: 400, code: "invalid_field", field: "resident.name"},
		{name: "phone SQL", body: `{"resident":{"phone":"1'; DROP TABLE orders; --","name":"a"},"lines":` + ok + `}`, status: 400, code: "invalid_field", field: "resident.phone"},
		{name: "duplicate key", body: fmt.Sprintf(`{"resident":{"phone":"13912345678","name":"a"},"lines":[{"sale_item_id":%d,"quantity":1,"quantity":5000}]}`, egg.ID), status: 400, code: "invalid_field", field: "lines[0].quantity"},
		{name: "duplicate key other case", body: `{"resident":{"phone":"13912345678","name":"a","Name":"b"},"lines":` + ok + `}`, status: 400, code: "invalid_field", field: "resident.Name"},
		{name: "duplicate top-level key", body: `{"resident":{"id":1},"lines":` + ok + `,"lines":[]}`, status: 400, code: "invalid_field", field: "lines"},
		{name: "trailing data", body: body(`"a"`, ok) + "}", status: 400, code: "bad_json"},
		{name: "two objects", body: body(`"a"`, ok) + body(`"b"`, ok), status: 400, code: "bad_json"},
		{name: "bad date", body: `{"resident":{"id":1},"delivery_date":"2026-02-30","lines":` + ok + `}`, status: 400, code: "invalid_field", field: "delivery_date"},
		{name: "idempotency key 10 KB", body: body(`"a"`, ok), headers: []string{"Idempotency-Key", strings.Repeat("k", 10<<10)}, status: 400, code: "invalid_field", field: "Idempotency-Key"},
		{name: "idempotency key SQL with spaces", body: body(`"a"`, ok), headers: []string{"Idempotency-Key", "'; DROP TABLE orders; --"}, status: 400, code: "invalid_field", field: "Idempotency-Key"},
		{name: "idempotency key non-ASCII", body: body(`"a"`, ok), headers: []string{"Idempotency-Key", "键"}, status: 400, code: "invalid_field", field: "Idempotency-Key"},
		{name: "unknown sale item", body: body(`"a"`, `[{"sale_item_id":4611686018427387904,"quantity":1}]`), status: 422, code: "unknown_sale_item", field: "lines[0].sale_item_id"},
		{name: "more than the stock", body: body(`"a"`, line("1001")), status: 409, code: "sold_out"},
	}
	for i := range cases {
		if len(cases[i].headers) == 0 {
			cases[i].headers = []string{"Idempotency-Key", fmt.Sprintf("hostile-%d", i)}
		}
	}
	tables := []string{"orders", "order_lines", "residents"}
	runHostile(t, c, "POST", "/api/v1/leader/orders", leader, tables, cases)
	if c.sold(egg.ID) != 0 || c.sold(rice.ID) != 0 {
		t.Fatalf("refusals took stock: egg %d rice %d", c.sold(egg.ID), c.sold(rice.ID))
	}

	// Legal names, however odd, are stored and read back byte for byte; SQL
	// in them is text. The idempotency key may hold SQL metacharacters too.
	for i, name := range hostileNames {
		key := fmt.Sprintf(`k'%%_\;--%d`, i)
		r := c.do("POST", "/api/v1/leader/orders", leader, orderBody(fmt.Sprintf("1391234%04d", i), name, rice.ID, 1), "Idempotency-Key", key)
		if r.Status != http.StatusCreated {
			t.Fatalf("%q: %d %s", name, r.Status, r.Body)
		}
		var o intake.Order
		r.json(t, &o)
		if o.Resident.Name != name {
			t.Errorf("answered name %q, want %q", o.Resident.Name, name)
		}
		var got intake.Order
		c.do("GET", fmt.Sprintf("/api/v1/leader/orders/%d", o.ID), leader, nil).json(t, &got)
		var stored, storedKey string
		if err := c.app.db.Get(&stored, `SELECT name FROM residents WHERE id = $1`, o.Resident.ID); err != nil {
			t.Fatal(err)
		}
		if err := c.app.db.Get(&storedKey, `SELECT idempotency_key FROM orders WHERE id = $1`, o.ID); err != nil {
			t.Fatal(err)
		}
		if got.Resident.Name != name || stored != name || storedKey != key {
			t.Errorf("read back %q, stored %q key %q; want %q key %q", got.Resident.Name, stored, storedKey, name, key)
		}
		// The same key and body is a replay, not a second order.
		if r := c.do("POST", "/api/v1/leader/orders", leader, orderBody(fmt.Sprintf("1391234%04d", i), name, rice.ID, 1), "Idempotency-Key", key); r.Status != http.StatusOK {
			t.Errorf("replay of %q: %d %s", name, r.Status, r.Body)
		}
	}
	// The same key with another body is a conflict, and writes nothing.
	before := c.rowCounts(tables...)
	r := c.do("POST", "/api/v1/leader/orders", leader, orderBody("13912340000", "另一个人", rice.ID, 2), "Idempotency-Key", `k'%_\;--0`)
	if code, _ := envelopeOf(t, r); r.Status != http.StatusConflict || code != "idempotency_conflict" {
		t.Fatalf("reused key: %d %s", r.Status, r.Body)
	}
	if after := c.rowCounts(tables...); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("conflict wrote rows: %v -> %v", before, after)
	}
	var tableLeft *string
	if err := c.app.db.Get(&tableLeft, `SELECT to_regclass('orders')::text`); err != nil || tableLeft == nil {
		t.Fatalf("orders table: %v %v", tableLeft, err)
	}
	if n := c.count("orders"); n != len(hostileNames) || c.sold(rice.ID) != int64(len(hostileNames)) {
		t.Fatalf("orders %d, rice sold %d, want %d", n, c.sold(rice.ID), len(hostileNames))
	}
}

// TestHostileCatalog covers the ops writes of the catalog: the product CSV
// import, publishing, and the stock cap.
func TestHostileCatalog(t *testing.T) {
	t.Parallel()
	c := newTestCity(t, 1)
	egg := c.item("EGG")
	const h = "sku,name,unit,weight_g,volume_ml,zone,bin,category\n"
	row := func(name, weight, category string) string {
		return h + "OK1,好的,盒,1,1,ambient,A-1,\nX2," + name + ",盒," + weight + ",1,ambient,A-1," + category + "\n"
	}
	cases := []hostileCase{
		{name: "over the CSV limit", body: h + strings.Repeat("A,b,c,1,1,ambient,A-1,"+strings.Repeat("x", 1000)+"\n", 33<<10), status: 400, code: "body_too_large"},
		{name: "empty", body: "", status: 400, code: "bad_csv"},
		{name: "header only", body: h, status: 400, code: "bad_csv"},
		{name: "missing column", body: "sku,name\nA,b\n", status: 400, code: "bad_csv_row", field: "unit"},
		{name: "column twice", body: "sku,name,unit,weight_g,volume_ml,zone,bin,name\nA,b,c,1,1,ambient,A-1,d\n", status: 400, code: "bad_csv_row", field: "name"},
		{name: "ragged row", body: h + "A,b,c,1\n", status: 400, code: "bad_csv_row"},
		{name: "bare quote", body: h + "A,b\"c,d,1,1,ambient,A-1,\n", status: 400, code: "bad_csv_row"},
		{name: "weight 0", body: row("a", "0", ""), status: 400, code: "bad_csv_row", field: "weight_g"},
		{name: "weight -1", body: row("a", "-1", ""), status: 400, code: "bad_csv_row", field: "weight_g"},
		{name: "weight 2^31", body: row("a", "2147483648", ""), status: 400, code: "bad_csv_row", field: "weight_g"},
		{name: "weight 2^63", body: row("a", "9223372036854775808", ""), status: 400, code: "bad_csv_row", field: "weight_g"},
		{name: "weight 1e300", body: row("a", "1e300", ""), status: 400, code: "bad_csv_row", field: "weight_g"},
		{name: "weight 3.5", body: row("a", "3.5", ""), status: 400, code: "bad_csv_row", field: "weight_g"},
		{name: "name control character", body: row("a\x07b", "1", ""), status: 400, code: "bad_csv_row", field: "name"},
		{name: "name GBK", body: row("\xcd\xc1\xbc\xa6\xb5\xb0", "1", ""), status: 400, code: "bad_csv_row", field: "name"},
		{name: "category GBK", body: row("a", "1", "\xb5\xb0\xc0\xe0"), status: 400, code: "bad_csv_row", field: "category"},
		{name: "category NUL", body: row("a", "1", "a\x00b"), status: 400, code: "bad_csv_row", field: "category"},
		{name: "sku with a quote", body: h + "A'1,b,c,1,1,ambient,A-1,\n", status: 400, code: "bad_csv_row", field: "sku"},
		{name: "sku twice", body: h + "A,b,c,1,1,ambient,A-1,\nA,b,c,1,1,ambient,A-1,\n", status: 400, code: "bad_csv_row", field: "sku"},
	}
	runHostile(t, c, "POST", "/api/v1/ops/products/import", c.admin, []string{"products"}, cases)

	// Odd but legal text is stored verbatim.
	var csv strings.Builder
	csv.WriteString(h)
	for i, name := range hostileNames {
		fmt.Fprintf(&csv, "S%d%%_\\,\"%s\",份,1,1,frozen,%s,%s\n", i, strings.ReplaceAll(name, `"`, `""`), `F-%_\`, "类别'; --")
	}
	r := c.do("POST", "/api/v1/ops/products/import", c.admin, csv.String())
	if r.Status != http.StatusOK {
		t.Fatalf("import: %d %s", r.Status, r.Body)
	}
	for i, name := range hostileNames {
		var p catalog.Product
		if err := c.app.db.Get(&p, `SELECT sku, name, bin, category FROM products WHERE sku = $1`, fmt.Sprintf(`S%d%%_\`, i)); err != nil {
			t.Fatalf("product %d: %v", i, err)
		}
		if p.Name != name || p.Bin != `F-%_\` || p.Category != "类别'; --" {
			t.Errorf("stored %+v, want name %q", p, name)
		}
	}

	// Prices and caps beyond their bounds or beyond int64.
	date := c.date.String()
	publish := func(price, cap string) string {
		return fmt.Sprintf(`{"warehouse_id":%d,"delivery_date":%q,"items":[{"product_id":%d,"price_fen":%s,"stock_cap":%s}]}`,
			c.warehous.ID, date, egg.ProductID, price, cap)
	}
	runHostile(t, c, "POST", "/api/v1/ops/sale-items", c.admin, []string{"sale_items"}, []hostileCase{
		{name: "price 2^63", body: publish("9223372036854775808", "1"), status: 400, code: "invalid_field", field: "items[0].price_fen"},
		{name: "price 1e300", body: publish("1e300", "1"), status: 400, code: "invalid_field", field: "items[0].price_fen"},
		{name: "price above the bound", body: publish(fmt.Sprint(fulfillment.MaxPriceFen+1), "1"), status: 400, code: "invalid_field", field: "items[0].price_fen"},
		{name: "price -1", body: publish("-1", "1"), status: 400, code: "invalid_field", field: "items[0].price_fen"},
		{name: "price 18.9", body: publish("18.9", "1"), status: 400, code: "invalid_field", field: "items[0].price_fen"},
		{name: "cap 2^31", body: publish("1", "2147483648"), status: 400, code: "invalid_field", field: "items[0].stock_cap"},
		{name: "cap 2^63", body: publish("1", "9223372036854775808"), status: 400, code: "invalid_field", field: "items[0].stock_cap"},
		{name: "cap null", body: publish("1", "null"), status: 400, code: "invalid_field", field: "items[0].stock_cap"},
		{name: "duplicate key", body: strings.Replace(publish("1", "1"), `"price_fen":1`, `"price_fen":1,"price_fen":0`, 1), status: 400, code: "invalid_field", field: "items[0].price_fen"},
	})
	path := fmt.Sprintf("/api/v1/ops/sale-items/%d", egg.ID)
	runHostile(t, c, "PATCH", path, c.admin, nil, []hostileCase{
		{name: "cap 2^63", body: `{"stock_cap":9223372036854775808}`, status: 400, code: "invalid_field", field: "stock_cap"},
		{name: "cap -1", body: `{"stock_cap":-1}`, status: 400, code: "invalid_field", field: "stock_cap"},
		{name: "cap above the bound", body: `{"stock_cap":10000001}`, status: 400, code: "invalid_field", field: "stock_cap"},
		{name: "cap string", body: `{"stock_cap":"5"}`, status: 400, code: "invalid_field", field: "stock_cap"},
	})
	var cap int64
	if err := c.app.db.Get(&cap, `SELECT stock_cap FROM sale_items WHERE id = $1`, egg.ID); err != nil || cap != 1000 {
		t.Fatalf("stored cap %d %v", cap, err)
	}
}

// TestHostilePickupPoints covers saving a pickup point as JSON.
func TestHostilePickupPoints(t *testing.T) {
	t.Parallel()
	c := newTestCity(t, 1)
	point := func(over map[string]any) map[string]any {
		p := map[string]any{"code": "H001", "warehouse_id": c.warehous.ID, "name": "阳光小区东门", "address": "浦东新区 1 号",
			"lat": 31.2, "lng": 121.5, "opens": "08:00", "closes": "21:00",
			"leader": map[string]any{"name": "王团长", "phone": "13700009999"}}
		for k, v := range over {
			p[k] = v
		}
		return p
	}
	raw := func(over map[string]any, extra string) string {
		b, _ := json.Marshal(point(over))
		return strings.TrimSuffix(string(b), "}") + extra + "}"
	}
	cases := []hostileCase{
		{name: "body over 1 MiB", body: overMiB("name"), status: 400, code: "body_too_large"},
		{name: "depth 10000", body: deep("leader", 10000), status: 400, code: "bad_json"},
		{name: "unknown field", body: raw(nil, `,"owner":"x"`), status: 400, code: "invalid_field", field: "owner"},
		{name: "duplicate key", body: raw(nil, `,"code":"H002"`), status: 400, code: "invalid_field", field: "code"},
		{name: "lat 1e400", body: strings.Replace(raw(nil, ""), `"lat":31.2`, `"lat":1e400`, 1), status: 400, code: "invalid_field", field: "lat"},
		{name: "lat string", body: point(map[string]any{"lat": "31.2"}), status: 400, code: "invalid_field", field: "lat"},
		{name: "lat 91", body: point(map[string]any{"lat": 91}), status: 400, code: "invalid_field", field: "lat"},
		{name: "lat null", body: point(map[string]any{"lat": nil}), status: 400, code: "invalid_field", field: "lat"},
		{name: "warehouse 2^63", body: strings.Replace(raw(nil, ""), fmt.Sprintf(`"warehouse_id":%d`, c.warehous.ID), `"warehouse_id":9223372036854775808`, 1), status: 400, code: "invalid_field", field: "warehouse_id"},
		{name: "warehouse -1", body: point(map[string]any{"warehouse_id": -1}), status: 400, code: "invalid_field", field: "warehouse_id"},
		{name: "name control character", body: point(map[string]any{"name": "a\x1b[2Jb"}), status: 400, code: "invalid_field", field: "name"},
		{name: "name invalid UTF-8", body: strings.Replace(raw(nil, ""), "阳光小区东门", "\xd1\xf4\xb9\xe2", 1), status: 400, code: "bad_json", field: "name"},
		{name: "address NUL", body: point(map[string]any{"address": "1\x00号"}), status: 400, code: "invalid_field", field: "address"},
		{name: "leader name control character", body: point(map[string]any{"leader": map[string]any{"name": "a\tb", "phone": "13700009999"}}), status: 400, code: "invalid_field", field: "leader.name"},
		{name: "leader phone SQL", body: point(map[string]any{"leader": map[string]any{"name": "a", "phone": "'; DROP TABLE leaders; --"}}), status: 400, code: "invalid_field", field: "leader.phone"},
		{name: "code SQL", body: point(map[string]any{"code": "'; DROP TABLE pickup_points; --"}), status: 400, code: "invalid_field", field: "code"},
		{name: "opens 25:00", body: point(map[string]any{"opens": "25:00"}), status: 400, code: "invalid_field", field: "opens"},
	}
	runHostile(t, c, "POST", "/api/v1/ops/pickup-points", c.admin, []string{"pickup_points", "leaders"}, cases)

	for i, name := range hostileNames {
		address := `路'; DROP TABLE pickup_points; -- 100% _ \ ` + name
		r := c.do("POST", "/api/v1/ops/pickup-points", c.admin, point(map[string]any{"code": fmt.Sprintf("H%03d", i), "name": name, "address": address,
			"leader": map[string]any{"name": name, "phone": fmt.Sprintf("1370000%04d", 5000+i)}}))
		if r.Status != http.StatusCreated {
			t.Fatalf("%q: %d %s", name, r.Status, r.Body)
		}
		var pc pickup.PointCreated
		r.json(t, &pc)
		var stored struct {
			Name    string `db:"name"`
			Address string `db:"address"`
			Leader  string `db:"leader"`
		}
		if err := c.app.db.Get(&stored, `SELECT p.name, p.address, l.name AS leader FROM pickup_points p JOIN leaders l ON l.id = p.leader_id
			WHERE p.id = $1`, pc.Point.ID); err != nil {
			t.Fatal(err)
		}
		if pc.Point.Name != name || stored.Name != name || stored.Address != address || stored.Leader != name {
			t.Errorf("stored %+v answered %q, want %q", stored, pc.Point.Name, name)
		}
	}
	if n := c.count("pickup_points"); n != 1+len(hostileNames) {
		t.Fatalf("%d points", n)
	}
}

// TestHostileReceipts covers the warehouse's receipts of a wave.
func TestHostileReceipts(t *testing.T) {
	t.Parallel()
	c := newTestCity(t, 1)
	egg := c.item("EGG")
	var waveID int64
	if err := c.app.db.Get(&waveID, `SELECT id FROM waves WHERE warehouse_id = $1 AND delivery_date = $2`, c.warehous.ID, c.date); err != nil {
		t.Fatal(err)
	}
	path := fmt.Sprintf("/api/v1/ops/waves/%d/receipts", waveID)
	items := func(received string) string {
		return fmt.Sprintf(`{"items":[{"sale_item_id":%d,"received":%s}]}`, egg.ID, received)
	}
	tables := []string{"wave_receipts"}
	runHostile(t, c, "PUT", path, c.admin, tables, []hostileCase{
		{name: "body over 1 MiB", body: overMiB("policy"), status: 400, code: "body_too_large"},
		{name: "depth 10000", body: deep("items", 10000), status: 400, code: "bad_json"},
		{name: "unknown field", body: `{"items":[],"shortage":true}`, status: 400, code: "invalid_field", field: "shortage"},
		{name: "received -1", body: items("-1"), status: 400, code: "invalid_field", field: "items[0].received"},
		{name: "received 2^31", body: items("2147483648"), status: 400, code: "invalid_field", field: "items[0].received"},
		{name: "received 2^63", body: items("9223372036854775808"), status: 400, code: "invalid_field", field: "items[0].received"},
		{name: "received 1e300", body: items("1e300"), status: 400, code: "invalid_field", field: "items[0].received"},
		{name: "received string", body: items(`"3"`), status: 400, code: "invalid_field", field: "items[0].received"},
		{name: "received 3.5", body: items("3.5"), status: 400, code: "invalid_field", field: "items[0].received"},
		{name: "sale item 0", body: `{"items":[{"sale_item_id":0,"received":1}]}`, status: 400, code: "invalid_field", field: "items[0].sale_item_id"},
		{name: "sale item twice", body: fmt.Sprintf(`{"items":[{"sale_item_id":%d,"received":1},{"sale_item_id":%d,"received":2}]}`, egg.ID, egg.ID), status: 400, code: "invalid_field", field: "items[1].sale_item_id"},
		{name: "duplicate key", body: fmt.Sprintf(`{"items":[{"sale_item_id":%d,"received":1,"received":0}]}`, egg.ID), status: 400, code: "invalid_field", field: "items[0].received"},
		{name: "policy SQL", body: `{"policy":"fcfs'; DROP TABLE waves; --","items":[]}`, status: 400, code: "invalid_field", field: "policy"},
		{name: "policy invalid UTF-8", body: "{\"policy\":\"\xff\",\"items\":[]}", status: 400, code: "bad_json", field: "policy"},
		{name: "final a string", body: `{"final":"true","items":[]}`, status: 400, code: "invalid_field", field: "final"},
		{name: "another warehouse's item", body: `{"items":[{"sale_item_id":4611686018427387904,"received":1}]}`, status: 422, code: "unknown_sale_item"},
	})
	for _, p := range []string{"9223372036854775808", "-1", "0", "1e3", "abc", "%27%3B%20DROP%20TABLE%20waves%3B--"} {
		runHostile(t, c, "PUT", "/api/v1/ops/waves/"+p+"/receipts", c.admin, tables, []hostileCase{
			{name: "wave id " + p, body: items("1"), status: 400, code: "invalid_field", field: "id"},
		})
	}
	if r := c.do("PUT", path, c.admin, items("7")); r.Status != http.StatusOK {
		t.Fatalf("receipt: %d %s", r.Status, r.Body)
	}
	var received int64
	if err := c.app.db.Get(&received, `SELECT received FROM wave_receipts WHERE wave_id = $1 AND sale_item_id = $2`, waveID, egg.ID); err != nil || received != 7 {
		t.Fatalf("received %d %v", received, err)
	}
}
