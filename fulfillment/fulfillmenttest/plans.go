package fulfillmenttest

import (
	"database/sql"
	"regexp"
	"strings"
	"sync"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"groupbuy/internal/testenv"
)

// Plans are the plans of the statements run on a pool Explained opened.
type Plans struct {
	mu    sync.Mutex
	plans []string
}

// Explained gives the city the nights a year of retention holds (115
// before Date, 35 after, each with its partitions) and opens a pool on its
// database whose every statement's plan comes back (auto_explain), for a
// test that a statement reads only its nights' partitions.
func (c *City) Explained() (*sqlx.DB, *Plans) {
	c.T.Helper()
	c.Exec(`SELECT night_partitions_ensure(d::date) FROM generate_series($1::date - 115, $1::date + 35, '1 day') d`, Date)
	c.Exec(`ANALYZE`)
	var name string
	if err := c.DB.Get(&name, `SELECT current_database()`); err != nil {
		c.T.Fatal(err)
	}
	connector, err := pq.NewConnector(testenv.URLFor(name) +
		"&session_preload_libraries=auto_explain&auto_explain.log_min_duration=0&auto_explain.log_level=notice&timezone=UTC")
	if err != nil {
		c.T.Fatal(err)
	}
	p := &Plans{}
	db := sqlx.NewDb(sql.OpenDB(pq.ConnectorWithNoticeHandler(connector, func(e *pq.Error) {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.plans = append(p.plans, e.Message)
	})), "postgres")
	c.T.Cleanup(func() { db.Close() })
	return db, p
}

var partitionNight = regexp.MustCompile(`_p(\d{8})\b`)

// Wide lists the statements planned so far whose plans touch the
// partitions of more than nights nights, each as its query's start.
func (p *Plans) Wide(nights int) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, plan := range p.plans {
		seen := map[string]bool{}
		for _, m := range partitionNight.FindAllStringSubmatch(plan, -1) {
			seen[m[1]] = true
		}
		if len(seen) > nights {
			query := plan
			if i := strings.Index(plan, "Query Text: "); i >= 0 {
				query = plan[i+len("Query Text: "):]
			}
			query = strings.Join(strings.Fields(query), " ")
			out = append(out, query[:min(len(query), 120)]+" …")
		}
	}
	return out
}

// Count is how many statements were planned so far.
func (p *Plans) Count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.plans)
}
