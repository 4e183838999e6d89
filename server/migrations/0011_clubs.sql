-- Clubs in a chain. Every hall-side row belongs to one club: a zone names
-- its club, a PC belongs to its zone's club, a session to its PC's (moves
-- stay within a club), a shift to the club whose desk opened it. Clients,
-- their balances and holdings, tariffs, roles and settings are the chain's.
-- An operator with a club works in that club only; one without (NULL)
-- works in every club: the chain's owner and staff. Existing rows go to
-- club 1 and existing operators keep every club, so a single club needs no
-- configuration at all.
CREATE TABLE clubs (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);

INSERT INTO clubs (id, name, created_at) VALUES (1, 'Club', 0);

-- SQLite cannot add a REFERENCES column with a default while foreign keys
-- are enforced: the triggers below hold the reference instead.
ALTER TABLE zones ADD COLUMN club_id INTEGER NOT NULL DEFAULT 1;
ALTER TABLE shifts ADD COLUMN club_id INTEGER NOT NULL DEFAULT 1;
ALTER TABLE operators ADD COLUMN club_id INTEGER REFERENCES clubs(id);

CREATE INDEX zones_by_club ON zones(club_id);
CREATE INDEX shifts_by_club ON shifts(club_id, opened_at);

CREATE TRIGGER zones_club_exists_insert BEFORE INSERT ON zones
    WHEN NOT EXISTS (SELECT 1 FROM clubs WHERE id = NEW.club_id)
    BEGIN SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed'); END;
CREATE TRIGGER zones_club_exists_update BEFORE UPDATE OF club_id ON zones
    WHEN NOT EXISTS (SELECT 1 FROM clubs WHERE id = NEW.club_id)
    BEGIN SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed'); END;
CREATE TRIGGER shifts_club_exists_insert BEFORE INSERT ON shifts
    WHEN NOT EXISTS (SELECT 1 FROM clubs WHERE id = NEW.club_id)
    BEGIN SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed'); END;
CREATE TRIGGER shifts_club_exists_update BEFORE UPDATE OF club_id ON shifts
    WHEN NOT EXISTS (SELECT 1 FROM clubs WHERE id = NEW.club_id)
    BEGIN SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed'); END;
CREATE TRIGGER clubs_are_never_deleted BEFORE DELETE ON clubs
    BEGIN SELECT RAISE(ABORT, 'clubs are never deleted'); END;
