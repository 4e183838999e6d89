-- A club's own no-show rule: the twin of SQLite's migration 12 (see there).
ALTER TABLE clubs ADD COLUMN no_show_minutes BIGINT
    CHECK (no_show_minutes BETWEEN 0 AND 1440);
