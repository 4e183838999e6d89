-- A club's own no-show rule (DESIGN: "optional, per club setting"): NULL
-- follows the chain's setting, 0 turns it off in this club, 1..1440 is the
-- club's own grace in minutes.
ALTER TABLE clubs ADD COLUMN no_show_minutes INTEGER
    CHECK (no_show_minutes BETWEEN 0 AND 1440);
