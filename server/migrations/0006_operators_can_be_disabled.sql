-- The Owner disables an operator (issue 13): a disabled operator cannot
-- sign in, and their sign-ins are ended when it happens.
ALTER TABLE operators ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0;
