-- Shifts: every money movement, correction and cancellation an operator
-- makes belongs to their open shift.
CREATE TABLE shifts (
    id          INTEGER PRIMARY KEY,
    operator_id INTEGER NOT NULL REFERENCES operators(id),
    opened_at   INTEGER NOT NULL,
    closed_at   INTEGER,
    z_report    TEXT
);
CREATE UNIQUE INDEX shifts_one_open_per_operator ON shifts(operator_id) WHERE closed_at IS NULL;

ALTER TABLE ledger ADD COLUMN shift_id INTEGER REFERENCES shifts(id);
ALTER TABLE orders ADD COLUMN shift_id INTEGER REFERENCES shifts(id);
ALTER TABLE price_corrections ADD COLUMN shift_id INTEGER REFERENCES shifts(id);
ALTER TABLE audit ADD COLUMN shift_id INTEGER REFERENCES shifts(id);

-- Orders: refunds and extra charges are orders too.
ALTER TABLE orders ADD COLUMN refund_of INTEGER REFERENCES orders(id);
ALTER TABLE orders ADD COLUMN session_id INTEGER REFERENCES sessions(id);
ALTER TABLE orders ADD COLUMN reason TEXT;
