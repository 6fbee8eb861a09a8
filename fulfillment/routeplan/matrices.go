package routeplan

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/jmoiron/sqlx"

	"groupbuy/routing"
)

// waveMatrices is the routing.MatrixProvider of one wave's route stage:
// road distances from OSRM, kept in wave_matrices per set of points so
// that a rerun of the stage (same stops, same sectors) asks OSRM nothing;
// when OSRM fails it warns and answers the great-circle estimate, which it
// does not keep, so the next run tries OSRM again.
type waveMatrices struct {
	db     *sqlx.DB
	log    *slog.Logger
	osrm   OSRM
	waveID int64
}

// Matrix implements routing.MatrixProvider.
func (w waveMatrices) Matrix(ctx context.Context, points []routing.Location) (*routing.Matrix, error) {
	key := pointsKey(points)
	m, err := w.load(ctx, key, len(points))
	if err != nil {
		return nil, err
	}
	if m != nil {
		return m, nil
	}
	m, err = w.osrm.Matrix(ctx, points)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		w.log.Warn("OSRM table failed: great-circle distances for this part of the wave", "wave", w.waveID, "points", len(points), "err", err)
		return routing.Haversine{}.Matrix(ctx, points)
	}
	if err := m.Validate(len(points)); err != nil {
		return nil, err
	}
	// A second run of the stage racing this one stores the same matrix.
	if _, err := w.db.ExecContext(ctx, `INSERT INTO wave_matrices (wave_id, points, n, distance_m, duration_s, created_at)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (wave_id, points) DO NOTHING`,
		w.waveID, key, len(points), packFloats(m.Distance), packFloats(m.Duration), time.Now().UTC()); err != nil {
		return nil, fmt.Errorf("keep the road matrix: %w", err)
	}
	return m, nil
}

// load returns the kept matrix of the points with key, or nil.
func (w waveMatrices) load(ctx context.Context, key string, n int) (*routing.Matrix, error) {
	var row struct {
		N        int    `db:"n"`
		Distance []byte `db:"distance_m"`
		Duration []byte `db:"duration_s"`
	}
	err := w.db.GetContext(ctx, &row, `SELECT n, distance_m, duration_s FROM wave_matrices WHERE wave_id = $1 AND points = $2`, w.waveID, key)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if row.N != n || len(row.Distance) != 4*n*n || len(row.Duration) != 4*n*n {
		return nil, fmt.Errorf("wave %d: the kept road matrix is %d points, %d and %d bytes; want %d points", w.waveID, row.N, len(row.Distance), len(row.Duration), n)
	}
	return &routing.Matrix{N: n, Distance: unpackFloats(row.Distance), Duration: unpackFloats(row.Duration)}, nil
}

// pointsKey identifies a list of points by their exact coordinates, in order.
func pointsKey(points []routing.Location) string {
	h := sha256.New()
	var b [16]byte
	for _, p := range points {
		binary.LittleEndian.PutUint64(b[:8], math.Float64bits(p.Lat))
		binary.LittleEndian.PutUint64(b[8:], math.Float64bits(p.Lon))
		h.Write(b[:])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// packFloats stores metres and seconds as float32: a centimetre's or a
// millisecond's precision at city scale.
func packFloats(v []float64) []byte {
	out := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(out[4*i:], math.Float32bits(float32(x)))
	}
	return out
}

func unpackFloats(b []byte) []float64 {
	out := make([]float64, len(b)/4)
	for i := range out {
		out[i] = float64(math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:])))
	}
	return out
}
