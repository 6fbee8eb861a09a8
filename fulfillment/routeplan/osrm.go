package routeplan

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"groupbuy/routing"
)

// OSRM asks an OSRM server's table service (the open routing engine, self
// hosted on a map extract) for road distances and driving times.
type OSRM struct {
	// URL is the server's base, e.g. http://osrm:5000 (GROUPBUY_OSRM_URL).
	URL string
	// TableSize is the most coordinates one request may carry: the
	// server's --max-table-size (OSRM's default, 100, when 0). A larger
	// wave is asked for in blocks of half as many sources by half as many
	// destinations.
	TableSize int
	// Client makes the requests (a client with a 30 s timeout when nil).
	Client *http.Client
}

// unreachable stands for a pair OSRM finds no road between (null in its
// answer): large enough that the solver never links them.
const unreachable = 1e9

// Matrix implements routing.MatrixProvider.
func (o OSRM) Matrix(ctx context.Context, points []routing.Location) (*routing.Matrix, error) {
	block := max(1, o.tableSize()/2)
	n := len(points)
	m := &routing.Matrix{N: n, Distance: make([]float64, n*n), Duration: make([]float64, n*n)}
	for i := 0; i < n; i += block {
		for j := 0; j < n; j += block {
			if err := o.block(ctx, points, m, i, min(i+block, n), j, min(j+block, n)); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}

func (o OSRM) tableSize() int {
	if o.TableSize <= 0 {
		return 100
	}
	return o.TableSize
}

// block fills the rows from..to and columns cfrom..cto of m with one table
// request whose sources are those rows and destinations those columns.
func (o OSRM) block(ctx context.Context, points []routing.Location, m *routing.Matrix, from, to, cfrom, cto int) error {
	var coords []string
	var src, dst []string
	index := map[int]int{} // point -> its place among the request's coordinates
	add := func(p int) string {
		k, ok := index[p]
		if !ok {
			k = len(coords)
			index[p] = k
			coords = append(coords, strconv.FormatFloat(points[p].Lon, 'f', 6, 64)+","+strconv.FormatFloat(points[p].Lat, 'f', 6, 64))
		}
		return strconv.Itoa(k)
	}
	for p := from; p < to; p++ {
		src = append(src, add(p))
	}
	for p := cfrom; p < cto; p++ {
		dst = append(dst, add(p))
	}
	u := strings.TrimRight(o.URL, "/") + "/table/v1/driving/" + strings.Join(coords, ";") + "?" + url.Values{
		"sources": {strings.Join(src, ";")}, "destinations": {strings.Join(dst, ";")}, "annotations": {"duration,distance"},
	}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	client := o.Client
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("osrm table: %w", err)
	}
	defer resp.Body.Close()
	var body struct {
		Code      string       `json:"code"`
		Message   string       `json:"message"`
		Durations [][]*float64 `json:"durations"`
		Distances [][]*float64 `json:"distances"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(&body); err != nil {
		return fmt.Errorf("osrm table: HTTP %d: %w", resp.StatusCode, err)
	}
	if resp.StatusCode != http.StatusOK || body.Code != "Ok" {
		return fmt.Errorf("osrm table: HTTP %d: %s: %s", resp.StatusCode, body.Code, body.Message)
	}
	rows, cols := to-from, cto-cfrom
	if len(body.Durations) != rows || len(body.Distances) != rows {
		return fmt.Errorf("osrm table: %d duration and %d distance rows for %d sources (annotations=duration,distance)", len(body.Durations), len(body.Distances), rows)
	}
	for r := range rows {
		if len(body.Durations[r]) != cols || len(body.Distances[r]) != cols {
			return fmt.Errorf("osrm table: row %d is not %d long", r, cols)
		}
		for c := range cols {
			k := (from+r)*m.N + cfrom + c
			m.Duration[k], m.Distance[k] = orUnreachable(body.Durations[r][c]), orUnreachable(body.Distances[r][c])
		}
	}
	return nil
}

func orUnreachable(v *float64) float64 {
	if v == nil || *v < 0 {
		return unreachable
	}
	return *v
}
