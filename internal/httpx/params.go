package httpx

// validRequestID reports whether a client's X-Request-ID may be kept: 1 to
// 64 visible ASCII characters. It is logged and stored with the jobs a
// request starts, so anything else is replaced by a generated ID.
func validRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] <= ' ' || id[i] > '~' {
			return false
		}
	}
	return true
}

// Page is the keyset pagination of a listing, as the parameters of a
// route's request (embed it).
type Page struct {
	AfterID int64 `query:"after_id" doc:"List from the id after this one: the previous page's next_after_id."`
	Limit   int   `query:"limit" max:"1000" doc:"At most this many; 200 when absent."`
}
