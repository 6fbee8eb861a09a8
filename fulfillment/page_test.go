package fulfillment

import (
	"slices"
	"testing"
)

func TestPageSizeAndCutPage(t *testing.T) {
	for _, c := range []struct{ limit, want int }{{0, 200}, {-1, 200}, {1, 1}, {1000, 1000}, {1001, 200}} {
		if got := PageSize(c.limit, 200); got != c.want {
			t.Errorf("PageSize(%d, 200) = %d, want %d", c.limit, got, c.want)
		}
	}
	id := func(n int64) int64 { return n * 10 }
	// Read with one row more than the page: the extra row says another page follows.
	page, next, more := CutPage([]int64{1, 2, 3, 4}, 3, id)
	if !slices.Equal(page, []int64{1, 2, 3}) || next != 30 || !more {
		t.Errorf("a full page and one more: %v %d %v", page, next, more)
	}
	for _, rows := range [][]int64{{1, 2, 3}, {1}, nil} {
		page, next, more := CutPage(rows, 3, id)
		if !slices.Equal(page, rows) || next != 0 || more {
			t.Errorf("the last page %v: %v %d %v", rows, page, next, more)
		}
	}
}
