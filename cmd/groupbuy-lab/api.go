package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/jmoiron/sqlx"

	"groupbuy/internal/auth"
)

// opsClient sets a benchmark's city up through the ops API of the groupbuy
// serve it drives, with an admin token, as an operator would.
type opsClient struct {
	api, token string
	client     *http.Client
}

// newOpsClient issues an admin token in db for the API at api.
func newOpsClient(ctx context.Context, db *sqlx.DB, api string) (*opsClient, error) {
	token, _, err := auth.IssueToken(ctx, db, time.Now(), auth.TokenSpec{Role: auth.RoleAdmin, Name: "groupbuy-lab"})
	if err != nil {
		return nil, err
	}
	return &opsClient{api: api, token: token, client: &http.Client{Timeout: 30 * time.Second}}, nil
}

// do sends in as JSON to the ops API and decodes the answer into out; an
// answer other than 2xx is an error quoting it.
func (o *opsClient) do(method, path string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequest(method, o.api+"/api/v1/ops"+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+o.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := o.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %d %.300s", method, path, resp.StatusCode, raw)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(raw, out)
}

// Bodies of the ops API, as its JSON names them.
type (
	warehouseBody struct {
		Code          string  `json:"code"`
		Name          string  `json:"name"`
		Address       string  `json:"address,omitempty"`
		Lat           float64 `json:"lat"`
		Lng           float64 `json:"lng"`
		TimeZone      string  `json:"time_zone"`
		CutoffLocal   string  `json:"cutoff_local"`
		DeliveryStart string  `json:"delivery_start"`
		DeliveryEnd   string  `json:"delivery_end"`
	}
	pointBody struct {
		Code        string     `json:"code"`
		WarehouseID int64      `json:"warehouse_id"`
		Name        string     `json:"name"`
		Address     string     `json:"address,omitempty"`
		Lat         float64    `json:"lat"`
		Lng         float64    `json:"lng"`
		Opens       string     `json:"opens"`
		Closes      string     `json:"closes"`
		Leader      personBody `json:"leader"`
	}
	personBody struct { // a leader or a resident
		Name  string `json:"name"`
		Phone string `json:"phone"`
	}
	productBody struct {
		SKU      string `json:"sku"`
		Name     string `json:"name"`
		Unit     string `json:"unit"`
		WeightG  int64  `json:"weight_g"`
		VolumeML int64  `json:"volume_ml"`
		Zone     string `json:"zone"`
		Bin      string `json:"bin"`
	}
	offerBody struct {
		SKU      string `json:"sku"`
		PriceFen int64  `json:"price_fen"`
		StockCap int64  `json:"stock_cap"`
	}
)

// createWarehouse creates a warehouse and returns its id.
func (o *opsClient) createWarehouse(w warehouseBody) (int64, error) {
	var out struct {
		ID int64 `json:"id"`
	}
	err := o.do("POST", "/warehouses", w, &out)
	return out.ID, err
}

// savePoint creates a pickup point with its new leader and returns the
// point's id and the leader's token.
func (o *opsClient) savePoint(p pointBody) (id int64, leaderToken string, err error) {
	var out struct {
		Point struct {
			ID int64 `json:"id"`
		} `json:"pickup_point"`
		LeaderToken string `json:"leader_token"`
	}
	if err := o.do("POST", "/pickup-points", p, &out); err != nil {
		return 0, "", err
	}
	if out.LeaderToken == "" {
		return 0, "", fmt.Errorf("pickup point %s: no token for its leader (not new?)", p.Code)
	}
	return out.Point.ID, out.LeaderToken, nil
}

// saveProducts creates or updates products by SKU.
func (o *opsClient) saveProducts(ps []productBody) error {
	for _, p := range ps {
		if err := o.do("POST", "/products", p, nil); err != nil {
			return err
		}
	}
	return nil
}

// publish puts offers on sale at a warehouse for a date (YYYY-MM-DD) and
// returns the sale items' ids in the offers' order.
func (o *opsClient) publish(warehouseID int64, date string, offers []offerBody) ([]int64, error) {
	in := struct {
		WarehouseID  int64       `json:"warehouse_id"`
		DeliveryDate string      `json:"delivery_date"`
		Items        []offerBody `json:"items"`
	}{warehouseID, date, offers}
	var out struct {
		Items []struct {
			ID  int64  `json:"id"`
			SKU string `json:"sku"`
		} `json:"items"`
	}
	if err := o.do("POST", "/sale-items", in, &out); err != nil {
		return nil, err
	}
	bySKU := map[string]int64{}
	for _, it := range out.Items {
		bySKU[it.SKU] = it.ID
	}
	ids := make([]int64, len(offers))
	for i, of := range offers {
		if ids[i] = bySKU[of.SKU]; ids[i] == 0 {
			return nil, fmt.Errorf("publish: no sale item for %s in the answer", of.SKU)
		}
	}
	return ids, nil
}

// setCap sets a sale item's stock cap.
func (o *opsClient) setCap(saleItemID, stockCap int64) error {
	return o.do("PATCH", fmt.Sprintf("/sale-items/%d", saleItemID), map[string]int64{"stock_cap": stockCap}, nil)
}

// postJSON POSTs a JSON body with a bearer token and header pairs, and reads
// the whole answer.
func postJSON(client *http.Client, url, token string, body []byte, headers ...string) (int, []byte, error) {
	req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	return resp.StatusCode, raw, err
}
