package pickup

import (
	"context"
	"time"

	"github.com/uber/h3-go/v4"

	"groupbuy/pickup/geo"
)

// Demand is one pickup point's demand for a delivery date, as the order book
// (fulfillment) knows it: pickup never reads orders itself.
type Demand struct {
	PointID  int64 `db:"pickup_point_id"`
	WeightG  int64 `db:"weight_g"`
	VolumeML int64 `db:"volume_ml"`
}

// DemandFunc returns the demand per pickup point of a warehouse for a date.
type DemandFunc func(ctx context.Context, warehouseID int64, date time.Time) ([]Demand, error)

// DeliveryAreaMap is a warehouse's delivery areas for a date with the
// GeoJSON to draw them.
type DeliveryAreaMap struct {
	Areas []geo.DeliveryArea
	Map   geo.GeoJSONFeatureCollection
}

// DeliveryAreas partitions a warehouse's pickup points, weighted by demand
// (points without demand weigh nothing), into delivery areas at geo.AreaRes.
func (s *Service) DeliveryAreas(ctx context.Context, warehouseID int64, demand []Demand, limit geo.Capacity) (DeliveryAreaMap, error) {
	w, err := GetWarehouse(ctx, s.db, warehouseID)
	if err != nil {
		return DeliveryAreaMap{}, err
	}
	points, err := ListPoints(ctx, s.db, warehouseID)
	if err != nil {
		return DeliveryAreaMap{}, err
	}
	byPoint := make(map[int64]Demand, len(demand))
	for _, d := range demand {
		byPoint[d.PointID] = d
	}
	in := make([]geo.AreaPoint, len(points))
	for i, p := range points {
		d := byPoint[p.ID]
		in[i] = geo.AreaPoint{ID: p.ID, Lat: p.Lat, Lng: p.Lng, WeightG: d.WeightG, VolumeML: d.VolumeML}
	}
	areas, err := geo.PartitionAreas(h3.LatLng{Lat: w.Lat, Lng: w.Lng}, in, limit, geo.AreaRes)
	if err != nil {
		return DeliveryAreaMap{}, err
	}
	fc, err := areasGeoJSON(w, points, byPoint, areas, limit)
	if err != nil {
		return DeliveryAreaMap{}, err
	}
	return DeliveryAreaMap{Areas: areas, Map: fc}, nil
}

// areasGeoJSON draws the areas: one feature per area outline, per cell
// hexagon, per point and for the warehouse, each with a "kind" property.
func areasGeoJSON(w Warehouse, points []Point, demand map[int64]Demand, areas []geo.DeliveryArea, limit geo.Capacity) (geo.GeoJSONFeatureCollection, error) {
	fc := geo.GeoJSONFeatureCollection{Type: "FeatureCollection", Features: []geo.GeoJSONFeature{}}
	areaOf := map[int64]int{}
	for _, a := range areas {
		for _, id := range a.PointIDs {
			areaOf[id] = a.ID
		}
	}
	for _, a := range areas {
		outline, err := geo.Outline(a.Cells)
		if err != nil {
			return fc, err
		}
		fc.Features = append(fc.Features, geo.GeoJSONFeature{Type: "Feature", Geometry: outline, Properties: map[string]any{
			"kind": "area", "area": a.ID, "weight_g": a.WeightG, "volume_ml": a.VolumeML, "points": len(a.PointIDs),
			"cells": len(a.Cells), "over_limit": a.OverLimit, "split": a.Split,
			"limit_weight_g": limit.WeightG, "limit_volume_ml": limit.VolumeML}})
	}
	for _, a := range areas {
		for _, c := range a.Cells {
			hex, err := geo.Hexagon(c.Cell())
			if err != nil {
				return fc, err
			}
			fc.Features = append(fc.Features, geo.GeoJSONFeature{Type: "Feature", Geometry: hex, Properties: map[string]any{
				"kind": "cell", "area": a.ID, "h3_cell": h3.Cell(c).String(), "resolution": geo.AreaRes}})
		}
	}
	for _, p := range points {
		d := demand[p.ID]
		fc.Features = append(fc.Features, geo.GeoJSONFeature{Type: "Feature", Geometry: geo.Geometry("Point", [2]float64{p.Lng, p.Lat}),
			Properties: map[string]any{"kind": "point", "area": areaOf[p.ID], "pickup_point_id": p.ID, "code": p.Code,
				"name": p.Name, "weight_g": d.WeightG, "volume_ml": d.VolumeML}})
	}
	fc.Features = append(fc.Features, geo.GeoJSONFeature{Type: "Feature", Geometry: geo.Geometry("Point", [2]float64{w.Lng, w.Lat}),
		Properties: map[string]any{"kind": "warehouse", "warehouse_id": w.ID, "code": w.Code, "name": w.Name}})
	return fc, nil
}
