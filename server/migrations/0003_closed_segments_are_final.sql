-- Elapsed time is never rewritten: once a segment is closed, it is final.
CREATE TRIGGER segments_closed_are_final BEFORE UPDATE ON segments
WHEN OLD.closed_at IS NOT NULL
BEGIN SELECT RAISE(ABORT, 'a closed segment is never rewritten'); END;
