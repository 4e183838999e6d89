-- The till: the cash float counted when a shift opens, and the cash counted
-- when it closes (the Z report keeps the expected amount and the difference).
ALTER TABLE shifts ADD COLUMN opening_cash INTEGER NOT NULL DEFAULT 0;
ALTER TABLE shifts ADD COLUMN counted_cash INTEGER;
CREATE INDEX shifts_opened ON shifts(opened_at);
