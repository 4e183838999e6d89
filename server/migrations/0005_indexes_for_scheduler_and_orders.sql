-- The scheduler asks for the next holding to expire on every pass (and
-- operations wake it); an order's view sums its refunds. Both scanned
-- their whole table.
CREATE INDEX holdings_available_by_expiry ON holdings(valid_until)
    WHERE status = 'available';
CREATE INDEX orders_by_refund_of ON orders(refund_of)
    WHERE refund_of IS NOT NULL;
