-- When the agent now connected to each PC started: a new value in a hello
-- is a restart of the agent (or of the PC), audited.
ALTER TABLE devices ADD COLUMN agent_started_at INTEGER;
