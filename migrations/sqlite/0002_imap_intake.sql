-- Where IMAP intake stands in each mailbox it reads: the mailbox's UIDVALIDITY and the highest
-- UID whose message is committed. Written in the same transaction as the messages themselves,
-- so a crash can neither skip a message nor make the position run ahead of the data.
CREATE TABLE imap_mailboxes (
    mailbox      TEXT PRIMARY KEY,   -- user@host:port/folder
    uid_validity BIGINT NOT NULL,
    last_uid     BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);
