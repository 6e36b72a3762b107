-- Caps on automatic mail (issue 12): outgoing rows carry the recipient's base mailbox
-- (lower-case, +tag removed) and domain, and a notification the base mailbox of the sender who
-- caused it, so the hourly counts per mailbox, per domain and per sender are index look-ups.
-- Keep migrations/postgres/0006_mail_caps.sql in step with this file.
ALTER TABLE outbox ADD COLUMN recipient_key TEXT;
ALTER TABLE outbox ADD COLUMN recipient_domain TEXT;
ALTER TABLE outbox ADD COLUMN cause_key TEXT;
UPDATE outbox SET recipient_key = lower(recipient),
                  recipient_domain = lower(substr(recipient, instr(recipient, '@') + 1));
CREATE INDEX outbox_recipient_key ON outbox (recipient_key, created_at);
CREATE INDEX outbox_recipient_domain ON outbox (recipient_domain, created_at);
CREATE INDEX outbox_cause_key ON outbox (cause_key, created_at);
CREATE INDEX outbox_kind_created ON outbox (kind, created_at);
