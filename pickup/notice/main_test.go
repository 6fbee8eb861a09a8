package notice

import (
	"context"
	"fmt"
	"testing"

	"groupbuy/internal/clock"
	"groupbuy/internal/testenv"
	"groupbuy/pickup"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func newTestWarehouse(t *testing.T, s *pickup.Service, code string, lat, lng float64) pickup.Warehouse {
	t.Helper()
	w, err := s.CreateWarehouse(context.Background(), pickup.Warehouse{Code: code, Name: "仓 " + code, Lat: lat, Lng: lng,
		TimeZone: "Asia/Shanghai", CutoffLocal: clock.NewTimeOfDay(23, 0), DeliveryStart: clock.NewTimeOfDay(7, 0), DeliveryEnd: clock.NewTimeOfDay(10, 0)})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func pointInput(i int, warehouseID int64, lat, lng float64) pickup.PointInput {
	return pickup.PointInput{Point: pickup.Point{Code: fmt.Sprintf("T%04d", i), WarehouseID: warehouseID, Name: fmt.Sprintf("点%d", i),
		Lat: lat, Lng: lng, Opens: clock.NewTimeOfDay(8, 0), Closes: clock.NewTimeOfDay(21, 0)}, LeaderName: fmt.Sprintf("团长%d", i), LeaderPhone: fmt.Sprintf("1390000%04d", i)}
}
