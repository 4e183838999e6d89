-- The desired state last published to each PC and its sequence number. The
-- number only grows, across restarts too, so an agent can apply by order.
ALTER TABLE devices ADD COLUMN desired_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE devices ADD COLUMN desired_state TEXT;
