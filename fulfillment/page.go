package fulfillment

// MaxPage is the most rows one page of a listing holds.
const MaxPage = 1000

// PageSize is the rows a page holds when a request asks for limit: limit
// itself from 1 to MaxPage, else byDefault.
func PageSize(limit, byDefault int) int {
	if limit <= 0 || limit > MaxPage {
		return byDefault
	}
	return limit
}

// CutPage cuts rows, read by id with one row more than size, to one page:
// the rows of the page, the id the next page starts after and whether
// there is one (the extra row says so).
func CutPage[T any](rows []T, size int, id func(T) int64) (page []T, nextID int64, more bool) {
	if len(rows) <= size {
		return rows, 0, false
	}
	return rows[:size], id(rows[size-1]), true
}
