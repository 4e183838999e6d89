-- Clubs in a chain. Every hall-side row belongs to one club: a zone and a
-- PC name their club (a PC's is its zone's: it never moves to another
-- club), a session belongs to its PC's club (moves stay within it), a
-- shift to the club whose desk opened it. Clients, their balances and
-- holdings, tariffs, roles and settings are the chain's. An operator with
-- a club works in that club only; one without (NULL) works in every club:
-- the chain's owner and staff. Existing rows go to club 1 and existing
-- operators keep every club, so a single club needs no configuration.
-- (Foreign keys are off while migrations run; each is checked before its
-- commit.)
-- A club's time zone (IANA) is its own clock for tariff windows and its
-- days; NULL: the chain's, from the settings.
CREATE TABLE clubs (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    time_zone  TEXT,
    created_at INTEGER NOT NULL
);

INSERT INTO clubs (id, name, created_at) VALUES (1, 'Club', 0);

CREATE TRIGGER clubs_are_never_deleted BEFORE DELETE ON clubs
    BEGIN SELECT RAISE(ABORT, 'clubs are never deleted'); END;

ALTER TABLE shifts ADD COLUMN club_id INTEGER NOT NULL DEFAULT 1 REFERENCES clubs(id);
ALTER TABLE operators ADD COLUMN club_id INTEGER REFERENCES clubs(id);
CREATE INDEX shifts_by_club ON shifts(club_id, opened_at);

-- Zone and PC names are unique within a club: each club has its "Main
-- hall" and its "PC-01". SQLite keeps a column's UNIQUE for the table's
-- life, so both tables are made again, with their rows and ids.
CREATE TABLE zones_new (
    id      INTEGER PRIMARY KEY,
    name    TEXT NOT NULL,
    club_id INTEGER NOT NULL DEFAULT 1 REFERENCES clubs(id),
    UNIQUE (club_id, name)
);
INSERT INTO zones_new (id, name) SELECT id, name FROM zones;
DROP TABLE zones;
ALTER TABLE zones_new RENAME TO zones;

CREATE TABLE devices_new (
    id               INTEGER PRIMARY KEY,
    name             TEXT NOT NULL,
    zone_id          INTEGER NOT NULL REFERENCES zones(id),
    club_id          INTEGER NOT NULL DEFAULT 1 REFERENCES clubs(id),
    x                INTEGER NOT NULL,
    y                INTEGER NOT NULL,
    enabled          INTEGER NOT NULL DEFAULT 1,
    secret_hash      TEXT UNIQUE,
    hostname         TEXT,
    last_seen_at     INTEGER,
    metrics          TEXT,
    created_at       INTEGER NOT NULL,
    desired_seq      INTEGER NOT NULL DEFAULT 0,
    desired_state    TEXT,
    agent_started_at INTEGER,
    agent_sha256     TEXT,
    UNIQUE (club_id, name)
);
INSERT INTO devices_new (id, name, zone_id, x, y, enabled, secret_hash, hostname,
        last_seen_at, metrics, created_at, desired_seq, desired_state, agent_started_at,
        agent_sha256)
    SELECT id, name, zone_id, x, y, enabled, secret_hash, hostname, last_seen_at, metrics,
        created_at, desired_seq, desired_state, agent_started_at, agent_sha256
    FROM devices;
DROP TABLE devices;
ALTER TABLE devices_new RENAME TO devices;
