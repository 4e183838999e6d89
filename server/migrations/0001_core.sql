-- Clubhall core schema. Times are unix milliseconds (UTC); money is integer
-- minor units. Merged migrations are never edited: add a new file instead.

CREATE TABLE roles (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    builtin     INTEGER NOT NULL DEFAULT 0,
    permissions TEXT NOT NULL -- JSON array of permission names
);

CREATE TABLE operators (
    id            INTEGER PRIMARY KEY,
    login         TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role_id       INTEGER NOT NULL REFERENCES roles(id),
    created_at    INTEGER NOT NULL
);

CREATE TABLE zones (
    id   INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);

CREATE TABLE devices (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE,
    zone_id      INTEGER NOT NULL REFERENCES zones(id),
    x            INTEGER NOT NULL,
    y            INTEGER NOT NULL,
    enabled      INTEGER NOT NULL DEFAULT 1,
    secret_hash  TEXT UNIQUE,
    hostname     TEXT,
    last_seen_at INTEGER,
    metrics      TEXT,
    created_at   INTEGER NOT NULL
);

CREATE TABLE enrollment_codes (
    code_hash  TEXT PRIMARY KEY,
    device_id  INTEGER NOT NULL REFERENCES devices(id),
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
);

-- Bearer tokens (staff and players), stored as SHA-256 of the token.
CREATE TABLE tokens (
    token_hash  TEXT PRIMARY KEY,
    operator_id INTEGER REFERENCES operators(id),
    client_id   INTEGER REFERENCES clients(id),
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    CHECK ((operator_id IS NULL) <> (client_id IS NULL))
);

CREATE TABLE tariffs (
    id                  INTEGER PRIMARY KEY,
    name                TEXT NOT NULL UNIQUE,
    duration_seconds    INTEGER NOT NULL CHECK (duration_seconds >= 1),
    price               INTEGER NOT NULL CHECK (price >= 0),
    refund_policy       TEXT NOT NULL,
    max_bonus_percent   INTEGER CHECK (max_bonus_percent BETWEEN 0 AND 100),
    validity_days       INTEGER,
    expiration_policy   TEXT NOT NULL DEFAULT 'burn',
    window_start_minute INTEGER,
    window_end_minute   INTEGER,
    active              INTEGER NOT NULL DEFAULT 1,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL
);

CREATE TABLE tariff_zones (
    tariff_id INTEGER NOT NULL REFERENCES tariffs(id),
    zone_id   INTEGER NOT NULL REFERENCES zones(id),
    PRIMARY KEY (tariff_id, zone_id)
);

CREATE TABLE clients (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL,
    phone         TEXT NOT NULL UNIQUE,
    auto_renewal  INTEGER NOT NULL DEFAULT 0,
    pin_hash      TEXT,
    balance       INTEGER NOT NULL DEFAULT 0 CHECK (balance >= 0),
    bonus_balance INTEGER NOT NULL DEFAULT 0 CHECK (bonus_balance >= 0),
    created_at    INTEGER NOT NULL
);

CREATE TABLE orders (
    id          INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    client_id   INTEGER NOT NULL REFERENCES clients(id),
    operator_id INTEGER REFERENCES operators(id),
    kind        TEXT NOT NULL,      -- top_up | purchase
    method      TEXT,               -- cash | card | balance
    money       INTEGER NOT NULL,   -- minor units paid in money
    bonus       INTEGER NOT NULL,   -- minor units paid in bonus
    tariff_id   INTEGER REFERENCES tariffs(id),
    holding_id  INTEGER
);

-- Append-only: a client's balance equals the sum of its money entries, its
-- bonus balance the sum of its bonus entries.
CREATE TABLE ledger (
    id          INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    client_id   INTEGER NOT NULL REFERENCES clients(id),
    account     TEXT NOT NULL CHECK (account IN ('money', 'bonus')),
    amount      INTEGER NOT NULL CHECK (amount <> 0),
    kind        TEXT NOT NULL,
    order_id    INTEGER REFERENCES orders(id),
    session_id  INTEGER REFERENCES sessions(id),
    operator_id INTEGER REFERENCES operators(id)
);
CREATE INDEX ledger_client ON ledger(client_id, id);

CREATE TABLE holdings (
    id                INTEGER PRIMARY KEY,
    client_id         INTEGER NOT NULL REFERENCES clients(id),
    tariff_id         INTEGER NOT NULL REFERENCES tariffs(id),
    total_seconds     INTEGER NOT NULL CHECK (total_seconds >= 1),
    remaining_seconds INTEGER NOT NULL CHECK (remaining_seconds >= 0),
    price_paid        INTEGER NOT NULL CHECK (price_paid >= 0),
    value_remaining   INTEGER NOT NULL CHECK (value_remaining >= 0),
    purchased_at      INTEGER NOT NULL,
    valid_until       INTEGER,
    status            TEXT NOT NULL -- available | in_use | used_up | expired
);
CREATE INDEX holdings_client ON holdings(client_id);

-- Where holding value went when it left a holding: recognised revenue
-- (usage), burned value (burn, expire) or the bonus balance (convert).
CREATE TABLE value_movements (
    id         INTEGER PRIMARY KEY,
    at         INTEGER NOT NULL,
    holding_id INTEGER NOT NULL REFERENCES holdings(id),
    session_id INTEGER REFERENCES sessions(id),
    segment_id INTEGER REFERENCES segments(id),
    kind       TEXT NOT NULL, -- usage | burn | convert | expire
    seconds    INTEGER NOT NULL,
    amount     INTEGER NOT NULL CHECK (amount >= 0)
);

CREATE TABLE sessions (
    id               INTEGER PRIMARY KEY,
    client_id        INTEGER NOT NULL REFERENCES clients(id),
    device_id        INTEGER NOT NULL REFERENCES devices(id),
    status           TEXT NOT NULL,
    planned_start_at INTEGER NOT NULL,
    actual_start_at  INTEGER,
    actual_end_at    INTEGER,
    ends_at          INTEGER,
    cancelled_at     INTEGER,
    cancelled_by     INTEGER REFERENCES operators(id),
    cancel_reason    TEXT,
    end_kind         TEXT,
    start_press_id   TEXT,
    receipt          TEXT,
    created_at       INTEGER NOT NULL,
    created_by       INTEGER REFERENCES operators(id)
);
-- The last line of defence for occupancy: the service checks overlaps first.
CREATE UNIQUE INDEX sessions_one_running_per_device
    ON sessions(device_id) WHERE status IN ('ACTIVE', 'STARTED');
CREATE INDEX sessions_status ON sessions(status);
CREATE INDEX sessions_device ON sessions(device_id, status);
CREATE INDEX sessions_client ON sessions(client_id);

-- Segments are append-only in time: a closed segment is never rewritten.
CREATE TABLE segments (
    id                INTEGER PRIMARY KEY,
    session_id        INTEGER NOT NULL REFERENCES sessions(id),
    position          INTEGER NOT NULL,
    holding_id        INTEGER NOT NULL REFERENCES holdings(id),
    tariff_id         INTEGER NOT NULL REFERENCES tariffs(id),
    reserved_seconds  INTEGER NOT NULL,
    starts_at         INTEGER,
    ends_at           INTEGER,
    closed_at         INTEGER,
    seconds_used      INTEGER,
    amount            INTEGER,
    refund_policy     TEXT NOT NULL,
    max_bonus_percent INTEGER,
    UNIQUE (session_id, position)
);

CREATE TABLE bindings (
    id               INTEGER PRIMARY KEY,
    session_id       INTEGER NOT NULL REFERENCES sessions(id),
    device_id        INTEGER NOT NULL REFERENCES devices(id),
    planned_start_at INTEGER NOT NULL,
    actual_start_at  INTEGER,
    actual_end_at    INTEGER
);
CREATE INDEX bindings_session ON bindings(session_id);

CREATE TABLE price_corrections (
    id          INTEGER PRIMARY KEY,
    session_id  INTEGER NOT NULL REFERENCES sessions(id),
    delta       INTEGER NOT NULL,
    reason      TEXT NOT NULL,
    operator_id INTEGER REFERENCES operators(id),
    at          INTEGER NOT NULL
);

-- Append-only trail of every operation.
CREATE TABLE audit (
    id          INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    operator_id INTEGER REFERENCES operators(id),
    actor       TEXT NOT NULL, -- staff | player | agent | system
    kind        TEXT NOT NULL,
    session_id  INTEGER,
    device_id   INTEGER,
    client_id   INTEGER,
    before      TEXT,
    after       TEXT,
    reason      TEXT
);
CREATE INDEX audit_session ON audit(session_id);
CREATE INDEX audit_at ON audit(at);

CREATE TRIGGER audit_is_append_only_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'audit entries are never edited'); END;
CREATE TRIGGER audit_is_append_only_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'audit entries are never deleted'); END;
CREATE TRIGGER ledger_is_append_only_update BEFORE UPDATE ON ledger
BEGIN SELECT RAISE(ABORT, 'ledger entries are never edited'); END;
CREATE TRIGGER ledger_is_append_only_delete BEFORE DELETE ON ledger
BEGIN SELECT RAISE(ABORT, 'ledger entries are never deleted'); END;
CREATE TRIGGER segments_are_never_deleted BEFORE DELETE ON segments
BEGIN SELECT RAISE(ABORT, 'segments are never deleted'); END;

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
