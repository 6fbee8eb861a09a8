-- Owned by package fulfillment/supply: the warehouse's stock lock, in one
-- home for Go (supply.LockStock) and for supply_receive.
--
-- pg_advisory_xact_lock's two-key form takes int4 keys, and the warehouse id
-- was cast to int: an id past 2^31 - 1 was refused ("integer out of range").
-- The key is now the id modulo 2^31. Below that it is the id itself, the key
-- taken until now, so during a rolling deploy the old and the new servers
-- still exclude each other.
--
-- advisory_key is that rule for any id locked under a key of two int4s
-- (the pickup codes' issuing per point takes it too).
-- +goose Up
-- +goose StatementBegin
CREATE FUNCTION advisory_key(id bigint) RETURNS int LANGUAGE sql IMMUTABLE AS $$
    SELECT (id % 2147483648)::int
$$;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE FUNCTION stock_lock(warehouse bigint) RETURNS void LANGUAGE sql AS $$
    SELECT pg_advisory_xact_lock(5315, advisory_key(warehouse))
$$;
-- +goose StatementEnd

-- supply_receive takes the lock in one line of its hundred: change that
-- line in the installed definition rather than repeat the whole function.
-- +goose StatementBegin
DO $$
DECLARE
    def text := pg_get_functiondef('supply_receive(text, bigint, bigint, bigint, bigint, text, text, date, text, timestamptz, bigint, bigint)'::regprocedure);
    old text := 'PERFORM pg_advisory_xact_lock(5315, po.warehouse_id::int);';
BEGIN
    -- A supply_receive of 00061 as first released takes no lock to change
    -- (this raised, and no upgrade got past it): 00088 writes it whole.
    IF position(old IN def) > 0 THEN
        EXECUTE replace(def, old, 'PERFORM stock_lock(po.warehouse_id);');
    END IF;
END $$;
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
DO $$
DECLARE
    def text := pg_get_functiondef('supply_receive(text, bigint, bigint, bigint, bigint, text, text, date, text, timestamptz, bigint, bigint)'::regprocedure);
BEGIN
    EXECUTE replace(def, 'PERFORM stock_lock(po.warehouse_id);', 'PERFORM pg_advisory_xact_lock(5315, po.warehouse_id::int);');
END $$;
-- +goose StatementEnd
DROP FUNCTION stock_lock(bigint);
DROP FUNCTION advisory_key(bigint);
