-- Owned by package fulfillment/supply: two more checks of a scan at the dock,
-- and supply_receive written whole, with its stock lock.
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
--
-- Whole, not patched: 00061 was edited after its first release (the
-- correction checks) and 00086 after its own (advisory_key). A database
-- migrated by those first releases has a supply_receive without the checks
-- and no advisory_key; 00086 skips its patch there, and this writes the
-- function, its lock and the lock's key as they are now, whatever came
-- before. (Its Down takes the two checks out of the text again.)
-- +goose Up
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION advisory_key(id bigint) RETURNS int LANGUAGE sql IMMUTABLE AS $$
    SELECT (id % 2147483648)::int
$$;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION stock_lock(warehouse bigint) RETURNS void LANGUAGE sql AS $$
    SELECT pg_advisory_xact_lock(5315, advisory_key(warehouse))
$$;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION supply_receive(p_scan text, p_line bigint, p_arrived bigint, p_accepted bigint, p_rejected bigint, p_reason text, p_lot text, p_expires date, p_by text, p_at timestamp with time zone, p_over_percent bigint, p_over_cases bigint)
 RETURNS TABLE(outcome text, r_id bigint, r_scan text, r_line bigint, r_arrived bigint, r_accepted bigint, r_rejected bigint, r_reason text, r_lot text, r_expires date, r_by text, r_at timestamp with time zone, l_id bigint, l_product bigint, l_sku text, l_name text, l_unit text, l_zone text, l_case_pack bigint, l_cases bigint, l_quantity bigint, l_price bigint, l_amount bigint, l_arrived bigint, l_accepted bigint, l_rejected bigint, l_tolerance bigint)
 LANGUAGE plpgsql
AS $function$
DECLARE
    rec receiving_records;
    line purchase_order_lines;
    po purchase_orders;
    arrived_now bigint; accepted_now bigint; rejected_now bigint;   -- the line's totals
BEGIN
    -- A scan sent again is answered before any lock: its record is there.
    SELECT * INTO rec FROM receiving_records WHERE scan_id = p_scan;
    IF NOT FOUND THEN
        SELECT * INTO line FROM purchase_order_lines WHERE id = p_line FOR NO KEY UPDATE;
        IF NOT FOUND THEN
            outcome := 'no_line';
            RETURN NEXT;
            RETURN;
        END IF;
        -- Under the lock (each statement here sees what committed before
        -- it): the same scan racing the first finds it now.
        SELECT * INTO rec FROM receiving_records WHERE scan_id = p_scan;
    END IF;
    IF rec.id IS NOT NULL THEN
        SELECT * INTO line FROM purchase_order_lines WHERE id = rec.purchase_order_line_id;
        outcome := 'replayed';
    ELSE
        SELECT * INTO po FROM purchase_orders WHERE id = line.purchase_order_id;
        IF EXISTS (SELECT 1 FROM purchase_order_closures WHERE purchase_order_id = po.id) THEN
            outcome := 'closed';
        ELSIF EXISTS (SELECT 1 FROM purchase_orders n WHERE n.wave_id = po.wave_id AND n.supplier_id = po.supplier_id
                AND n.version > po.version) THEN
            outcome := 'superseded';
        ELSIF line.zone <> 'ambient' AND p_accepted > 0 AND p_lot = '' THEN
            outcome := 'need_lot';
        ELSIF line.zone <> 'ambient' AND p_accepted > 0 AND p_expires IS NULL THEN
            outcome := 'need_expiry';
        ELSIF p_accepted > 0 AND p_expires < po.delivery_date THEN
            outcome := 'expired';
        END IF;
    END IF;
    SELECT coalesce(sum(r.arrived), 0), coalesce(sum(r.accepted), 0), coalesce(sum(r.rejected), 0)
        INTO arrived_now, accepted_now, rejected_now FROM receiving_records r WHERE r.purchase_order_line_id = line.id;
    l_tolerance := greatest(0, line.quantity * p_over_percent / 100, p_over_cases * line.case_pack);
    IF outcome IS NULL THEN
        IF arrived_now + p_arrived < 0 OR accepted_now + p_accepted < 0 OR rejected_now + p_rejected < 0 THEN
            outcome := 'below_zero';
        ELSIF p_accepted > 0 AND accepted_now + p_accepted > line.quantity + l_tolerance THEN
            outcome := 'over';
        ELSIF p_accepted < 0 OR p_rejected < 0 THEN
            -- A correction takes units back out: accepted ones out of their
            -- lot, which allocation or a return may have spent; rejected ones
            -- that may have gone back to the supplier. The warehouse's stock
            -- lock (as every command spending its stock takes) orders it
            -- with them, so no unit leaves twice.
            PERFORM stock_lock(po.warehouse_id);
            IF p_accepted < 0 AND (SELECT coalesce(sum(r.accepted), 0) FROM receiving_records r
                    WHERE r.purchase_order_line_id = line.id AND r.lot = p_lot
                      AND r.expires_on IS NOT DISTINCT FROM p_expires) + p_accepted < 0 THEN
                outcome := 'not_in_lot';
            ELSIF p_accepted < 0 AND (SELECT coalesce(sum(m.quantity), 0) FROM stock_movements m
                    WHERE m.warehouse_id = po.warehouse_id AND m.product_id = line.product_id AND m.lot = p_lot
                      AND m.expires_on IS NOT DISTINCT FROM p_expires) + p_accepted < 0 THEN
                outcome := 'beyond_stock';
            ELSIF p_rejected < 0 AND rejected_now + p_rejected < (SELECT coalesce(sum(t.quantity), 0) FROM supplier_return_lines t
                    WHERE t.purchase_order_line_id = line.id) THEN
                outcome := 'returned';
            END IF;
        END IF;
    END IF;
    IF outcome IS NULL THEN
        -- The same scan id on another line, in flight beside this one,
        -- leaves nothing to insert: the scan conflicts with it.
        INSERT INTO receiving_records (scan_id, purchase_order_line_id, arrived, accepted, rejected, reason, lot, expires_on,
                recorded_by, recorded_at)
            VALUES (p_scan, line.id, p_arrived, p_accepted, p_rejected, p_reason, p_lot, p_expires, p_by, p_at)
            ON CONFLICT (scan_id) DO NOTHING RETURNING * INTO rec;
        IF rec.id IS NULL THEN
            outcome := 'conflict';
        ELSE
            outcome := 'recorded';
            arrived_now := arrived_now + p_arrived;
            accepted_now := accepted_now + p_accepted;
            rejected_now := rejected_now + p_rejected;
            -- The accepted units into stock under their lot, as the ledger's
            -- every movement: once per cause.
            IF p_accepted <> 0 THEN
                INSERT INTO stock_movements (warehouse_id, product_id, lot, expires_on, kind, quantity, source, created_at)
                    VALUES (po.warehouse_id, line.product_id, p_lot, p_expires, 'received', p_accepted, 'receiving:' || rec.id, p_at)
                    ON CONFLICT DO NOTHING;
            END IF;
        END IF;
    END IF;
    SELECT rec.id, rec.scan_id, rec.purchase_order_line_id, rec.arrived, rec.accepted, rec.rejected, rec.reason, rec.lot,
            rec.expires_on, rec.recorded_by, rec.recorded_at,
            line.id, line.product_id, line.sku, line.name, line.unit, line.zone, line.case_pack, line.cases, line.quantity,
            line.price_fen, line.amount_fen, arrived_now, accepted_now, rejected_now
        INTO r_id, r_scan, r_line, r_arrived, r_accepted, r_rejected, r_reason, r_lot, r_expires, r_by, r_at,
            l_id, l_product, l_sku, l_name, l_unit, l_zone, l_case_pack, l_cases, l_quantity, l_price, l_amount,
            l_arrived, l_accepted, l_rejected;
    RETURN NEXT;
END $function$;
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
