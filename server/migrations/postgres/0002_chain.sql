-- What several servers on one database share beyond the club's own rows
-- (PostgreSQL only: a SQLite file has one server). Tables named chain_*
-- have no SQLite twin.

-- Every operation's outcome for the other servers: its events and its PCs'
-- new desired states, written in its transaction under the write lock, so
-- ids grow in commit order. Each server follows it in id order.
CREATE TABLE chain_outbox (
    id     BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at     BIGINT NOT NULL,
    origin TEXT NOT NULL,
    body   TEXT NOT NULL
);

CREATE FUNCTION chain_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('chain_outbox', NEW.id::text);
    RETURN NULL;
END
$$;

CREATE TRIGGER chain_outbox_notify AFTER INSERT ON chain_outbox
    FOR EACH ROW EXECUTE FUNCTION chain_outbox_notify();

-- The servers running on the database, each beating while it lives. The
-- times are the database server's clock, the one all of them share.
CREATE TABLE chain_instances (
    id         TEXT PRIMARY KEY,
    started_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    beat_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- The desk's commands to PCs, numbered across the servers.
CREATE SEQUENCE chain_command_ids;

-- Which server each connected PC's agent is connected to.
CREATE TABLE chain_presence (
    device_id   BIGINT PRIMARY KEY REFERENCES devices(id) ON DELETE CASCADE,
    instance_id TEXT NOT NULL REFERENCES chain_instances(id) ON DELETE CASCADE,
    since       BIGINT NOT NULL
);
CREATE INDEX chain_presence_instance ON chain_presence (instance_id);
