-- Ops find orders by the resident's phone: the residents of that phone (one
-- per pickup point) and their orders.
-- +goose Up
CREATE INDEX residents_phone ON residents (phone);
CREATE INDEX orders_resident ON orders (resident_id);

-- +goose Down
DROP INDEX orders_resident;
DROP INDEX residents_phone;
