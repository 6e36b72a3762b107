-- Messages intake has begun and not finished: before a message is processed its count is
-- raised and committed, and once it is stored (or quarantined) its row is deleted. A message
-- whose count shows two earlier attempts that never finished crashed or stalled the daemon
-- twice; it is quarantined with that reason instead of being taken up again. Keyed by the
-- content hash (the raw message without its trace fields), so the count holds whichever
-- source position the message is read from. Keep migrations/postgres/0008_intake_attempts.sql
-- in step with this file.
CREATE TABLE intake_attempts (
    content_hash TEXT PRIMARY KEY,
    origin       TEXT NOT NULL,
    attempts     BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);
