package api_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"groupbuy/internal/api"
	"groupbuy/internal/auth"
)

func roleNames() []string {
	out := make([]string, len(allRoles))
	for i, r := range allRoles {
		out[i] = string(r)
	}
	return out
}

func authRole(s string) auth.Role { return auth.Role(s) }

func itoa(n int) string { return strconv.Itoa(n) }

func TestAccessTableRoundTrips(t *testing.T) {
	routes := shopRoutes()
	table := api.AccessTable(routes, allRoles)
	for _, row := range []string{
		"| route | none | leader | warehouse | ops | admin |",
		"| **System** | | | | | |",
		"| `GET /healthz` | ✓ | ✓ | ✓ | ✓ | ✓ |",
		"| `GET /api/leader/me` | — | ✓ | — | — | — |",
		"| `GET /api/items/{id}` | — | — | ✓ | ✓ | ✓ |",
		"| `POST /api/items` | — | — | — | ✓ | ✓ |",
		"| `GET /console/{any}` | — | — | — | ✓ | ✓ |",
	} {
		if !strings.Contains(table, row+"\n") {
			t.Errorf("the table has no row %s:\n%s", row, table)
		}
	}
	readme := []byte("# Shop\n\n" + api.TableBegin + "\nold\n" + api.TableEnd + "\n\nMore.\n")
	if api.CheckAccessTable(readme, routes, allRoles) == nil {
		t.Error("a stale table passes the check")
	}
	fresh, err := api.WriteAccessTable(readme, table)
	if err != nil {
		t.Fatal(err)
	}
	if err := api.CheckAccessTable(fresh, routes, allRoles); err != nil {
		t.Error(err)
	}
	if !strings.HasPrefix(string(fresh), "# Shop\n\n") || !strings.HasSuffix(string(fresh), api.TableEnd+"\n\nMore.\n") {
		t.Errorf("the text around the table changed:\n%s", fresh)
	}
	routes[1].Access = staffReads // the leader's route opened to staff
	if api.CheckAccessTable(fresh, routes, allRoles) == nil {
		t.Error("a changed access passes the check")
	}
	if _, err := api.WriteAccessTable([]byte("# no markers\n"), table); err != api.ErrNoTableMarkers {
		t.Errorf("no markers: %v", err)
	}
}

func TestCheckRefusesABadTable(t *testing.T) {
	ok := func(*gin.Context, struct{}) (struct{}, error) { return struct{}{}, nil }
	good := api.Route{Method: http.MethodGet, Path: "/a", Tag: "t", Summary: "s", Handler: api.JSON(ok)}
	for name, routes := range map[string][]api.Route{
		"twice":        {good, good},
		"no handler":   {{Method: http.MethodGet, Path: "/b", Tag: "t", Summary: "s"}},
		"no summary":   {{Method: http.MethodGet, Path: "/b", Tag: "t", Handler: api.JSON(ok)}},
		"bad status":   {{Method: http.MethodGet, Path: "/b", Tag: "t", Summary: "s", Handler: api.JSON(ok), Status: 2000}},
		"same op id":   {good, {Method: http.MethodGet, Path: "/b", ID: "getA", Tag: "t", Summary: "s", Handler: api.JSON(ok)}},
		"no leading /": {{Method: http.MethodGet, Path: "b", Tag: "t", Summary: "s", Handler: api.JSON(ok)}},
	} {
		if api.Check(routes) == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if err := api.Check([]api.Route{good}); err != nil {
		t.Error(err)
	}
}

func TestRequestTypesAreCheckedWhenBuilt(t *testing.T) {
	for name, build := range map[string]func(){
		"a string without max": func() {
			api.JSON(func(*gin.Context, struct {
				Q string `query:"q"`
			}) (int, error) {
				return 0, nil
			})
		},
		"an untagged field": func() {
			api.JSON(func(*gin.Context, struct{ Q int }) (int, error) { return 0, nil })
		},
		"a type read from no string": func() {
			api.JSON(func(*gin.Context, struct {
				Q []int `query:"q"`
			}) (int, error) {
				return 0, nil
			})
		},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: built without complaint", name)
				}
			}()
			build()
		}()
	}
}
