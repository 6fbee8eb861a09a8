package api_test

import (
	"fmt"
	"io"
	"net/http"
	"reflect"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/gin-gonic/gin"

	"groupbuy/internal/api"
	"groupbuy/internal/api/openapi"
	"groupbuy/internal/apperr"
	"groupbuy/internal/auth"
	"groupbuy/internal/clock"
	"groupbuy/internal/httpx"
	"groupbuy/internal/input"
)

// A small shop: the example route table the tests serve, document and check.

var (
	public      = api.Access{Name: "anyone"}
	leaderOnly  = api.Access{Name: "leader", Roles: []auth.Role{auth.RoleLeader}}
	staffReads  = api.Access{Name: "staff reads", Roles: []auth.Role{auth.RoleWarehouse, auth.RoleOps, auth.RoleAdmin}}
	opsWrites   = api.Access{Name: "ops writes", Roles: []auth.Role{auth.RoleOps, auth.RoleAdmin}}
	allRoles    = []auth.Role{auth.RoleLeader, auth.RoleWarehouse, auth.RoleOps, auth.RoleAdmin}
	errTaken    = apperr.Errorf(apperr.Conflict, "sku_taken", "another item has this sku")
	errNotFound = apperr.Errorf(apperr.NotFound, "item_not_found", "item not found")
)

type zone string

type item struct {
	ID    int64           `json:"id"`
	SKU   string          `json:"sku" doc:"The stock-keeping unit."`
	Zone  zone            `json:"zone" enum:"ambient,chilled,frozen"`
	Ready clock.TimeOfDay `json:"ready,omitzero"`
	Tags  []string        `json:"tags"`
	Note  *string         `json:"note"`
}

type itemQuery struct {
	Date    time.Time       `query:"date" required:"true" doc:"Delivery date."`
	Zone    string          `query:"zone" enum:"ambient,chilled,frozen"`
	Limit   int             `query:"limit" max:"1000"`
	AfterID int64           `query:"after_id"`
	Search  string          `query:"q" max:"20"`
	At      clock.TimeOfDay `query:"at"`
}

type itemPage struct {
	Items []item `json:"items"`
	// Echo says what the handler got, so tests see typed values.
	Echo map[string]any `json:"echo,omitempty"`
}

type byID struct {
	ID int64 `path:"id" doc:"The item's id."`
}

type newItem struct {
	Body struct {
		SKU  string `json:"sku"`
		Zone zone   `json:"zone"`
	}
}

func (n *newItem) Check() error { return input.CheckText("sku", n.Body.SKU, 20) }

type noteIn struct {
	ID   int64  `path:"id"`
	Key  string `header:"Idempotency-Key" required:"true" max:"100"`
	Body struct {
		Text string `json:"text"`
	}
}

type importIn struct {
	Body io.Reader `content:"text/csv"`
}

type health struct {
	Database string `json:"database"`
}

type me struct {
	LeaderID int64 `json:"leader_id"`
}

var items = map[int64]item{7: {ID: 7, SKU: "EGG", Zone: "chilled", Tags: []string{"fresh"}}}

func shopRoutes() []api.Route {
	return []api.Route{
		{Method: http.MethodGet, Path: "/healthz", Access: public, Tag: "system", Summary: "Health", Section: "System",
			AltStatus: []int{http.StatusServiceUnavailable}, Before: []gin.HandlerFunc{httpx.QuietAccess},
			Handler: api.JSON(func(c *gin.Context, in struct {
				Fail bool `query:"fail"`
			}) (health, error) {
				if in.Fail {
					api.SetStatus(c, http.StatusServiceUnavailable)
					return health{Database: "unavailable"}, nil
				}
				return health{Database: "ok"}, nil
			})},
		{Method: http.MethodGet, Path: "/api/leader/me", Access: leaderOnly, Tag: "leader", Summary: "Who am I", Section: "Leader app",
			Handler: api.JSON(func(c *gin.Context, _ struct{}) (me, error) { return me{LeaderID: 1}, nil })},
		{Method: http.MethodGet, Path: "/api/items", Access: staffReads, Tag: "ops", Summary: "List items", Section: "Ops",
			Handler: api.JSON(func(c *gin.Context, in itemQuery) (itemPage, error) {
				return itemPage{Items: []item{items[7]}, Echo: map[string]any{"date": in.Date.Format(time.DateOnly),
					"zone": in.Zone, "limit": in.Limit, "after_id": in.AfterID, "q": in.Search, "at": in.At.String()}}, nil
			})},
		{Method: http.MethodGet, Path: "/api/items/:id", Access: staffReads, Tag: "ops", Summary: "Get an item",
			Errors: []*apperr.Error{errNotFound},
			Handler: api.JSON(func(c *gin.Context, in byID) (item, error) {
				it, ok := items[in.ID]
				if !ok {
					return item{}, errNotFound
				}
				return it, nil
			})},
		{Method: http.MethodPost, Path: "/api/items", Access: opsWrites, Tag: "ops", Summary: "Add an item",
			Status: http.StatusCreated, Errors: []*apperr.Error{errTaken},
			Handler: api.JSON(func(c *gin.Context, in newItem) (item, error) {
				if in.Body.SKU == "EGG" {
					return item{}, errTaken
				}
				return item{ID: 8, SKU: in.Body.SKU, Zone: in.Body.Zone}, nil
			})},
		{Method: http.MethodPut, Path: "/api/items/:id/note", Access: opsWrites, Tag: "ops", Summary: "Note an item",
			Handler: api.NoContent(func(c *gin.Context, in noteIn) error { return nil })},
		{Method: http.MethodGet, Path: "/api/items/:id/label.csv", Access: staffReads, Tag: "ops", Summary: "An item's label",
			Handler: api.File(func(c *gin.Context, in byID) (api.Download, error) {
				return api.Download{ContentType: "text/csv; charset=utf-8", FileName: fmt.Sprintf("item-%d.csv", in.ID),
					Body: []byte("sku\nEGG\n")}, nil
			}, "text/csv")},
		{Method: http.MethodPost, Path: "/api/items/import", Access: opsWrites, Tag: "ops", Summary: "Import items",
			Handler: api.JSON(func(c *gin.Context, in importIn) (map[string]int, error) {
				b, err := io.ReadAll(in.Body)
				return map[string]int{"bytes": len(b)}, err
			})},
		{Method: http.MethodGet, Path: "/console/*any", Access: api.Access{Name: "console", Roles: opsWrites.Roles, Session: true},
			Hidden: true, Section: "Console",
			Handler: api.Raw(func(c *gin.Context) { c.String(http.StatusOK, "<p>console</p>") })},
	}
}

// shopDoc is what the shop's document says beyond its routes.
var shopDoc = openapi.Options{
	Info: openapi3.Info{Title: "shop", Version: "1.0.0"},
	Tags: openapi3.Tags{{Name: "system"}, {Name: "leader"}, {Name: "ops"}},
	Types: map[reflect.Type]*openapi3.Schema{
		reflect.TypeFor[clock.TimeOfDay](): {Type: &openapi3.Types{"string"}, Pattern: "^([01][0-9]|2[0-3]):[0-5][0-9]$"},
	},
}

// roleGuards is a fake authenticator behind the same Guards interface: the
// role comes from the X-Role header (the real auth is in cmd's tests).
var roleGuards = api.GuardFunc(func(a api.Access) gin.HandlerFunc {
	return func(c *gin.Context) {
		role := auth.Role(c.GetHeader("X-Role"))
		switch {
		case role == "":
			httpx.WriteError(c, auth.ErrBadToken)
		case !a.Admits(role):
			httpx.WriteError(c, apperr.Errorf(apperr.Forbidden, "", "role %s may not use this endpoint", role))
		}
	}
})
