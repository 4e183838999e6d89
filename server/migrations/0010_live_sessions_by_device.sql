-- A PC's sessions: all of them by PC (its history), in an index a status
-- change does not touch, and the live ones (a few per PC) in a small partial
-- index, which every operation reads and writes. The index on
-- (device_id, status) it replaces held every session ever made, and each
-- status change moved an entry within it: in `club-bench durable` it was
-- 21 of the 78 pages a batch of 13 operations wrote.
DROP INDEX sessions_device;
CREATE INDEX sessions_by_device ON sessions(device_id);
CREATE INDEX sessions_live_by_device ON sessions(device_id)
    WHERE status IN ('PENDING', 'ACTIVE', 'STARTED');
