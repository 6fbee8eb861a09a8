package pickup

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jmoiron/sqlx"
)

// Index is a process's in-memory nearby index of every pickup point, kept in
// step with PostgreSQL so that several API processes agree.
//
// Every write to pickup_points records the writing transaction's id
// (written_xid, migration 00004). A search older than MaxStale since the
// last sync first reads the rows written by transactions the previous sync
// could not see: those with written_xid ≥ the previous snapshot's xmin. That
// catches commits in any order from any process, with one indexed query per
// MaxStale per process and no background goroutine, so a search sees every
// point committed at least MaxStale before it. A full reload every
// FullReload is the safety net (and picks up deleted rows).
type Index struct {
	db         *sqlx.DB
	MaxStale   time.Duration
	FullReload time.Duration

	set      atomic.Pointer[pointSet]
	syncedAt atomic.Int64 // UnixNano of the last sync's snapshot; 0 forces a sync
	// invalidated counts Invalidate calls: a sync that began before one
	// read a snapshot older than the write, so it does not mark the index
	// fresh (the write's own next search syncs again).
	invalidated atomic.Uint64

	mu       sync.Mutex // serialises syncs; guards xmin and loadedAt
	xmin     uint64
	loadedAt time.Time
}

// NewIndex returns an index over db, loaded on first use.
func NewIndex(db *sqlx.DB) *Index {
	return &Index{db: db, MaxStale: time.Second, FullReload: 10 * time.Minute}
}

// Invalidate makes the next search sync first, e.g. after this process wrote
// points, so it reads its own writes.
func (x *Index) Invalidate() {
	x.invalidated.Add(1)
	x.syncedAt.Store(0)
}

// Nearby returns the pickup points within q.RadiusM of q's location, nearest
// first.
func (x *Index) Nearby(ctx context.Context, q NearbyQuery) ([]NearbyPoint, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	if err := x.Sync(ctx, false); err != nil {
		return nil, err
	}
	return x.set.Load().nearby(q)
}

// Sync brings the index up to date when it is older than MaxStale (always
// when force is set).
func (x *Index) Sync(ctx context.Context, force bool) error {
	if !force && x.fresh() {
		return nil
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if !force && x.fresh() {
		return nil // another search synced while this one waited
	}
	started, gen := time.Now(), x.invalidated.Load()
	if x.set.Load() == nil || started.Sub(x.loadedAt) > x.FullReload {
		if err := x.load(ctx); err != nil {
			return err
		}
		x.loadedAt = started
	} else if err := x.poll(ctx); err != nil {
		return err
	}
	if x.invalidated.Load() == gen {
		x.syncedAt.Store(started.UnixNano())
	}
	return nil
}

func (x *Index) fresh() bool {
	at := x.syncedAt.Load()
	return at != 0 && x.set.Load() != nil && time.Since(time.Unix(0, at)) <= x.MaxStale
}

// load reads every point, backfilling cells of rows written before migration
// 00004, and replaces the set.
func (x *Index) load(ctx context.Context) error {
	points, xmin, err := indexRows(ctx, x.db, 0, true)
	if err != nil {
		return err
	}
	if err := backfillCells(ctx, x.db, points); err != nil {
		return err
	}
	set, err := newPointSet(points)
	if err != nil {
		return err
	}
	x.set.Store(set)
	x.xmin = xmin
	return nil
}

// poll applies the rows written since the last sync.
func (x *Index) poll(ctx context.Context) error {
	points, xmin, err := indexRows(ctx, x.db, x.xmin, false)
	if err != nil {
		return err
	}
	if len(points) > 0 {
		set, err := x.set.Load().with(points, nil)
		if err != nil {
			return err
		}
		x.set.Store(set)
	}
	x.xmin = xmin
	return nil
}
