package supply

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"groupbuy/fulfillment/catalog"
	"groupbuy/internal/apperr"
	"groupbuy/internal/clock"
	"groupbuy/internal/csvio"
	"groupbuy/internal/input"
	"groupbuy/internal/pg"
	"groupbuy/pickup"
	"groupbuy/pickup/notify"
)

const supplierCols = `id, code, name, contact, channel, webhook_url, webhook_secret, email, created_at, updated_at`

// ErrCodeTaken refuses renaming a supplier to another's code.
var ErrCodeTaken = apperr.Errorf(apperr.Conflict, "supplier_code_taken", "another supplier has this code")

// SaveSupplier creates a supplier or updates the one with its code.
func (s *Service) SaveSupplier(ctx context.Context, in SupplierInput) (Supplier, error) {
	if err := s.reachable(in); err != nil {
		return Supplier{}, err
	}
	var out Supplier
	err := pg.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		var err error
		out, err = saveSupplier(ctx, tx, in, s.clock.Now())
		return err
	})
	return out, err
}

// saveSupplier validates and upserts one supplier by code; a webhook
// supplier that exists keeps its secret when none is given.
func saveSupplier(ctx context.Context, tx *sqlx.Tx, in SupplierInput, now time.Time) (Supplier, error) {
	var secret string
	err := tx.GetContext(ctx, &secret, `SELECT webhook_secret FROM suppliers WHERE code = $1`, in.Code)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return Supplier{}, err
	}
	if err := in.Validate(secret != ""); err != nil {
		return Supplier{}, err
	}
	if in.Channel == ChannelWebhook && in.WebhookSecret == "" {
		in.WebhookSecret = secret
	}
	var out Supplier
	err = tx.GetContext(ctx, &out, `INSERT INTO suppliers (code, name, contact, channel, webhook_url, webhook_secret, email, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)
		ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, contact = EXCLUDED.contact, channel = EXCLUDED.channel,
			webhook_url = EXCLUDED.webhook_url, webhook_secret = EXCLUDED.webhook_secret, email = EXCLUDED.email,
			updated_at = EXCLUDED.updated_at
		RETURNING `+supplierCols, in.Code, in.Name, in.Contact, in.Channel, in.WebhookURL, in.WebhookSecret, in.Email, now)
	return out, err
}

// UpdateSupplier changes the supplier id; an omitted webhook secret keeps
// the stored one.
func (s *Service) UpdateSupplier(ctx context.Context, id int64, in SupplierInput) (Supplier, error) {
	if err := s.reachable(in); err != nil {
		return Supplier{}, err
	}
	var out Supplier
	err := pg.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		old, err := pg.GetOne[Supplier](ctx, tx, ErrSupplierNotFound, `SELECT `+supplierCols+` FROM suppliers WHERE id = $1 FOR UPDATE`, id)
		if err != nil {
			return err
		}
		if err := in.Validate(old.WebhookSecret != ""); err != nil {
			return err
		}
		if in.Channel == ChannelWebhook && in.WebhookSecret == "" {
			in.WebhookSecret = old.WebhookSecret
		}
		err = tx.GetContext(ctx, &out, `UPDATE suppliers SET code = $2, name = $3, contact = $4, channel = $5, webhook_url = $6,
			webhook_secret = $7, email = $8, updated_at = $9 WHERE id = $1 RETURNING `+supplierCols,
			id, in.Code, in.Name, in.Contact, in.Channel, in.WebhookURL, in.WebhookSecret, in.Email, s.clock.Now())
		if pg.IsUniqueViolation(err, "suppliers_code_key") {
			return ErrCodeTaken
		}
		return err
	})
	return out, err
}

// reachable refuses, when purchase orders go to public addresses only
// (Options.Webhook.PublicOnly), a webhook URL naming a host that is not:
// the send would be refused anyway, at the address it dials.
func (s *Service) reachable(in SupplierInput) error {
	if in.Channel != ChannelWebhook || !s.opt.Webhook.PublicOnly {
		return nil
	}
	u, err := url.Parse(strings.TrimSpace(in.WebhookURL)) // as Validate will store it
	if err != nil {
		return nil // Validate names it
	}
	host := strings.ToLower(u.Hostname())
	if ip := net.ParseIP(host); ip != nil && !notify.PublicAddress(ip) || host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return apperr.InvalidField("webhook_url", "webhook_url must name a public address: purchase orders are not posted into the operator's own network")
	}
	return nil
}

// ListSuppliers returns every supplier by code (a city buys from a few
// hundred).
func ListSuppliers(ctx context.Context, q sqlx.QueryerContext) ([]Supplier, error) {
	out := []Supplier{}
	err := sqlx.SelectContext(ctx, q, &out, `SELECT `+supplierCols+` FROM suppliers ORDER BY code`)
	return out, err
}

// GetSupplier loads one supplier.
func GetSupplier(ctx context.Context, q sqlx.QueryerContext, id int64) (Supplier, error) {
	return pg.GetOne[Supplier](ctx, q, ErrSupplierNotFound, `SELECT `+supplierCols+` FROM suppliers WHERE id = $1`, id)
}

// SupplierCSVColumns are the columns of a supplier import; webhook_url,
// webhook_secret and email may be empty where the channel does not use them.
var SupplierCSVColumns = []string{"code", "name", "contact", "channel", "webhook_url", "webhook_secret", "email"}

// supplierCSV is what a supplier import's header must and may name.
var supplierCSV = csvio.Columns{Required: []string{"code", "name", "channel"}, Optional: []string{"contact", "webhook_url", "webhook_secret", "email"}}

// ImportSuppliers creates or updates suppliers from CSV, all or nothing: the
// first bad row is reported by line and nothing is stored.
func (s *Service) ImportSuppliers(ctx context.Context, r io.Reader) ([]Supplier, error) {
	rows, err := readSupplierCSV(r)
	if err != nil {
		return nil, err
	}
	var out []Supplier
	err = pg.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		out = make([]Supplier, 0, len(rows))
		for _, row := range rows {
			if err := s.reachable(row.SupplierInput); err != nil {
				return csvio.AtLine(row.line, err)
			}
			sup, err := saveSupplier(ctx, tx, row.SupplierInput, s.clock.Now())
			if err != nil {
				return csvio.AtLine(row.line, err)
			}
			out = append(out, sup)
		}
		return nil
	})
	return out, err
}

// supplierRow is a supplier import's row: what it asks for, and its line.
type supplierRow struct {
	SupplierInput
	line int
}

// readSupplierCSV reads a supplier import's rows, refusing a code given
// twice; saveSupplier validates each against what is stored.
func readSupplierCSV(r io.Reader) ([]supplierRow, error) {
	rows, err := csvio.Read(r, supplierCSV)
	if err != nil {
		return nil, err
	}
	out := make([]supplierRow, 0, len(rows))
	seen := map[string]int{}
	for _, row := range rows {
		in := SupplierInput{Code: row.Get("code"), Name: row.Get("name"), Contact: row.Get("contact"), Channel: Channel(row.Get("channel")),
			WebhookURL: row.Get("webhook_url"), WebhookSecret: row.Get("webhook_secret"), Email: row.Get("email")}
		if first, dup := seen[in.Code]; dup {
			return nil, row.Errorf("code", "code %q already appears on line %d", in.Code, first)
		}
		seen[in.Code] = row.Line
		out = append(out, supplierRow{in, row.Line})
	}
	return out, nil
}

// SetTerms replaces the supply terms of a product: from now on the purchase
// stage buys it from these suppliers (none: the product is not bought by
// purchase order).
func (s *Service) SetTerms(ctx context.Context, productID int64, terms []TermInput) ([]Term, error) {
	if err := validateTerms(terms); err != nil {
		return nil, err
	}
	var out []Term
	err := pg.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		// Delete-then-insert from two requests at once would both delete
		// nothing and then collide on the key: they take turns.
		if err := catalog.LockProduct(ctx, tx, productID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM supply_terms WHERE product_id = $1`, productID); err != nil {
			return err
		}
		var sup, pri, share, pack, price []int64
		var slots []string
		for _, t := range terms {
			sup, pri, share, pack, price = append(sup, t.SupplierID), append(pri, t.Priority), append(share, t.SharePct),
				append(pack, t.CasePack), append(price, t.PriceFen)
			slots = append(slots, t.DeliverySlot.String())
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO supply_terms (product_id, supplier_id, priority, share_pct, case_pack, price_fen, delivery_slot, updated_at)
			SELECT $1, s, p, sh, c, pr, sl::time, $8
			FROM unnest($2::bigint[], $3::int[], $4::int[], $5::int[], $6::bigint[], $7::text[]) AS t(s, p, sh, c, pr, sl)`,
			productID, pq.Array(sup), pq.Array(pri), pq.Array(share), pq.Array(pack), pq.Array(price), pq.Array(slots), s.clock.Now())
		var pqErr *pq.Error
		if errors.As(err, &pqErr) && pqErr.Code == "23503" {
			return ErrUnknownSupplier
		}
		if err != nil {
			return err
		}
		out, err = listTerms(ctx, tx, productID, 0)
		return err
	})
	return out, err
}

// ListTerms returns the terms of a product, or of a supplier, or all (0, 0).
func ListTerms(ctx context.Context, q sqlx.QueryerContext, productID, supplierID int64) ([]Term, error) {
	return listTerms(ctx, q, productID, supplierID)
}

func listTerms(ctx context.Context, q sqlx.QueryerContext, productID, supplierID int64) ([]Term, error) {
	out := []Term{}
	err := sqlx.SelectContext(ctx, q, &out, `SELECT product_id, supplier_id, priority, share_pct, case_pack, price_fen, delivery_slot
		FROM supply_terms WHERE ($1::bigint = 0 OR product_id = $1) AND ($2::bigint = 0 OR supplier_id = $2)
		ORDER BY product_id, priority, supplier_id`, productID, supplierID)
	return out, err
}

// termsOf returns the terms of the given products, by product.
func termsOf(ctx context.Context, q sqlx.QueryerContext, productIDs []int64) (map[int64][]Term, error) {
	var rows []Term
	if err := sqlx.SelectContext(ctx, q, &rows, `SELECT product_id, supplier_id, priority, share_pct, case_pack, price_fen, delivery_slot
		FROM supply_terms WHERE product_id = ANY($1) ORDER BY product_id, priority, supplier_id`, pq.Array(productIDs)); err != nil {
		return nil, err
	}
	out := map[int64][]Term{}
	for _, t := range rows {
		out[t.ProductID] = append(out[t.ProductID], t)
	}
	return out, nil
}

// SetMargin sets the safety margin of a category.
func (s *Service) SetMargin(ctx context.Context, m SafetyMargin) (SafetyMargin, error) {
	if m.Percent < 0 || m.Percent > 100 {
		return m, apperr.InvalidField("percent", "percent must be between 0 and 100")
	}
	if err := checkCategory(m.Category); err != nil {
		return m, err
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO safety_margins (category, percent, updated_at) VALUES ($1, $2, $3)
		ON CONFLICT (category) DO UPDATE SET percent = EXCLUDED.percent, updated_at = EXCLUDED.updated_at`, m.Category, m.Percent, s.clock.Now())
	return m, err
}

// ListMargins returns the safety margins by category.
func ListMargins(ctx context.Context, q sqlx.QueryerContext) ([]SafetyMargin, error) {
	out := []SafetyMargin{}
	err := sqlx.SelectContext(ctx, q, &out, `SELECT category, percent FROM safety_margins ORDER BY category`)
	return out, err
}

// ReceivingDeadline is the local time on the delivery date at which a
// warehouse allocates with what it has received, whatever is still open.
type ReceivingDeadline struct {
	WarehouseID int64           `db:"warehouse_id" json:"warehouse_id"`
	Deadline    clock.TimeOfDay `db:"deadline_local" json:"deadline" doc:"Local time HH:MM on the delivery date; empty when none is set."`
}

// SetDeadline sets a warehouse's receiving deadline; the zero time removes it.
func (s *Service) SetDeadline(ctx context.Context, warehouseID int64, at clock.TimeOfDay) (ReceivingDeadline, error) {
	out := ReceivingDeadline{WarehouseID: warehouseID, Deadline: at}
	err := pg.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		if _, err := pickup.GetWarehouse(ctx, tx, warehouseID); err != nil {
			return err
		}
		if at.IsZero() {
			_, err := tx.ExecContext(ctx, `DELETE FROM receiving_deadlines WHERE warehouse_id = $1`, warehouseID)
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO receiving_deadlines (warehouse_id, deadline_local, updated_at) VALUES ($1, $2, $3)
			ON CONFLICT (warehouse_id) DO UPDATE SET deadline_local = EXCLUDED.deadline_local, updated_at = EXCLUDED.updated_at`,
			warehouseID, at, s.clock.Now())
		return err
	})
	return out, err
}

// GetDeadline returns a warehouse's receiving deadline (zero when none).
func GetDeadline(ctx context.Context, q sqlx.QueryerContext, warehouseID int64) (ReceivingDeadline, error) {
	out := ReceivingDeadline{WarehouseID: warehouseID}
	if _, err := pickup.GetWarehouse(ctx, q, warehouseID); err != nil {
		return out, err
	}
	err := sqlx.GetContext(ctx, q, &out.Deadline, `SELECT deadline_local FROM receiving_deadlines WHERE warehouse_id = $1`, warehouseID)
	if errors.Is(err, sql.ErrNoRows) {
		err = nil
	}
	return out, err
}

func checkCategory(c string) error { return input.CheckOptionalText("category", c, 50) }

// checkNote refuses a note that breaks the text rule.
func checkNote(n string) error { return input.CheckOptionalText("note", n, 200) }
