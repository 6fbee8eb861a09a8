-- Owned by package fulfillment/supply: a scan at the dock in one statement.
-- The dock fires a scan per purchase-order line from several scanners at
-- once; as a dozen statements each scan cost a dozen round trips between the
-- server and PostgreSQL, and on a busy machine every round trip waits for
-- the CPU. supply_receive does the whole scan where the rows are: the
-- replay check, the line's lock, the checks under it, the record and its
-- stock movement, and answers what happened in one row.
--
-- A scan locks its purchase-order line, not its order: the scans of one
-- delivery's lines run side by side, each line's in a row. What ends an
-- order's receiving (closing or revising it) locks the order, then its
-- lines, so it waits for the scans in flight and the scans after it see it.
-- +goose Up
-- +goose StatementBegin
CREATE FUNCTION supply_receive(p_scan text, p_line bigint, p_arrived bigint, p_accepted bigint, p_rejected bigint,
        p_reason text, p_lot text, p_expires date, p_by text, p_at timestamptz, p_over_percent bigint, p_over_cases bigint)
    RETURNS TABLE (
        outcome text,       -- recorded, replayed, no_line, closed, superseded, need_lot, need_expiry, below_zero, over, conflict
        r_id bigint, r_scan text, r_line bigint, r_arrived bigint, r_accepted bigint, r_rejected bigint, r_reason text,
        r_lot text, r_expires date, r_by text, r_at timestamptz,   -- the record: new, or the first one sent with this scan id
        l_id bigint, l_product bigint, l_sku text, l_name text, l_unit text, l_zone text, l_case_pack bigint, l_cases bigint,
        l_quantity bigint, l_price bigint, l_amount bigint,
        l_arrived bigint, l_accepted bigint, l_rejected bigint,    -- the line's totals: after the scan, or as they stand when refused
        l_tolerance bigint)                                        -- units the line may accept beyond its quantity
    LANGUAGE plpgsql AS $$
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
END $$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION supply_receive(text, bigint, bigint, bigint, bigint, text, text, date, text, timestamptz, bigint, bigint);
