-- The whole conversation by mail: files ride along with outgoing mail (the attachments of the
-- message a notification reports or a relay carries, up to a size per mail), everyone on the
-- customer's side of the thread gets the relays (one row per recipient, all with the same
-- To and Cc), and a technician can drop a participant from the copies.
-- Keep migrations/postgres/0011_whole_conversation.sql in step with this file.
ALTER TABLE outbox ADD COLUMN header_to TEXT;
ALTER TABLE outbox ADD COLUMN header_to_name TEXT;
ALTER TABLE outbox ADD COLUMN header_cc TEXT;

CREATE TABLE outbox_attachments (
    outbox_id      BIGINT NOT NULL REFERENCES outbox (id),
    attachment_id  BIGINT NOT NULL REFERENCES attachments (id),
    PRIMARY KEY (outbox_id, attachment_id)
);

-- Set by `/uncc`: the address stays on the case (it may still write) but gets no copies;
-- `/cc` clears it.
ALTER TABLE participants ADD COLUMN dropped_at BIGINT;
