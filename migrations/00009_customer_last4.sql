-- The console's jobs search by the last four digits of a phone.

-- +goose Up

-- A customer calling in often gives only the end of the number. With this index the search
-- finds the customers ending in those digits (about one in ten thousand), then their jobs
-- by work_orders_customer_idx, whatever the date range.
CREATE INDEX customers_phone_last4_idx ON customers (right(phone_e164, 4));

-- +goose Down
DROP INDEX customers_phone_last4_idx;
