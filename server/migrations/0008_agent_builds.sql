-- Agent builds an administrator uploaded, one row per executable. The
-- club's build for a platform is the one designated last: uploading a
-- build (again) designates it, so an older build can be brought back.
CREATE TABLE agent_builds (
    id INTEGER PRIMARY KEY,
    platform TEXT NOT NULL,
    version TEXT NOT NULL,
    sha256 TEXT NOT NULL UNIQUE,
    size INTEGER NOT NULL CHECK (size > 0),
    bytes BLOB NOT NULL,
    uploaded_at INTEGER NOT NULL,
    uploaded_by INTEGER REFERENCES operators(id),
    designated_at INTEGER NOT NULL
);
CREATE INDEX agent_builds_current ON agent_builds (platform, designated_at);

-- The build each PC's agent said it runs, in its last hello: a change is
-- an update (or a rollback), audited.
ALTER TABLE devices ADD COLUMN agent_sha256 TEXT;
