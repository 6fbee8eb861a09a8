-- Owned by package fulfillment/supply: two more checks of a scan at the dock,
-- written into supply_receive (00061) in place, as 00086 did, rather than
-- repeating the whole function.
--
-- A correction taking accepted units out was checked against its lot's
-- balance only, across every supplier's line: a correction naming another
-- supplier's lot took that supplier's units, and the line's own units stayed
-- in stock, owned on paper by nobody (then returnable to, and charged back
-- against, a supplier that had delivered nothing). It must now take no more
-- than its own line put into that lot and expiry: 'not_in_lot'.
--
-- Goods accepted with an expiry date before the order's delivery date can
-- never be handed out, yet the supplier was owed for them and the line
-- counted them as arrived: 'expired' (the dock rejects them as
-- short_shelf_life).
-- +goose Up
-- +goose StatementBegin
DO $$
DECLARE
    def text := pg_get_functiondef('supply_receive(text, bigint, bigint, bigint, bigint, text, text, date, text, timestamptz, bigint, bigint)'::regprocedure);
    expiry text := $a$outcome := 'need_expiry';$a$;
    spent text := $a$IF p_accepted < 0 AND (SELECT coalesce(sum(m.quantity), 0) FROM stock_movements m$a$;
BEGIN
    IF position(expiry IN def) = 0 OR position(spent IN def) = 0 THEN
        RAISE EXCEPTION 'supply_receive is not as migrations 00061 and 00086 wrote it';
    END IF;
    def := replace(def, expiry, expiry || $a$
        ELSIF p_accepted > 0 AND p_expires < po.delivery_date THEN
            outcome := 'expired';$a$);
    def := replace(def, spent, $a$IF p_accepted < 0 AND (SELECT coalesce(sum(r.accepted), 0) FROM receiving_records r
                    WHERE r.purchase_order_line_id = line.id AND r.lot = p_lot
                      AND r.expires_on IS NOT DISTINCT FROM p_expires) + p_accepted < 0 THEN
                outcome := 'not_in_lot';
            ELS$a$ || spent);
    EXECUTE def;
END $$;
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
DO $$
DECLARE
    def text := pg_get_functiondef('supply_receive(text, bigint, bigint, bigint, bigint, text, text, date, text, timestamptz, bigint, bigint)'::regprocedure);
BEGIN
    def := replace(def, $a$
        ELSIF p_accepted > 0 AND p_expires < po.delivery_date THEN
            outcome := 'expired';$a$, '');
    def := replace(def, $a$IF p_accepted < 0 AND (SELECT coalesce(sum(r.accepted), 0) FROM receiving_records r
                    WHERE r.purchase_order_line_id = line.id AND r.lot = p_lot
                      AND r.expires_on IS NOT DISTINCT FROM p_expires) + p_accepted < 0 THEN
                outcome := 'not_in_lot';
            ELSIF$a$, 'IF');
    EXECUTE def;
END $$;
-- +goose StatementEnd
