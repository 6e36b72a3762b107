-- The foundation schema. Timestamps are i64 milliseconds since the Unix epoch (UTC); enums are
-- TEXT. Keep migrations/sqlite/0001_foundation.sql in step with this file.

-- Named sequences: the ticket counter is a row so both backends allocate it with one UPDATE.
CREATE TABLE counters (
    name  TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO counters (name, value) VALUES ('ticket', 0);

CREATE TABLE cases (
    id              BIGSERIAL PRIMARY KEY,
    ticket          TEXT NOT NULL UNIQUE,
    subject         TEXT NOT NULL,
    requester       TEXT NOT NULL,
    requester_name  TEXT,
    status          TEXT NOT NULL,
    case_type       TEXT NOT NULL,
    category        TEXT NOT NULL,
    priority        BIGINT NOT NULL,
    team            TEXT,
    rule            TEXT,
    target_secs     BIGINT,
    previous_case   BIGINT REFERENCES cases (id),
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX cases_status ON cases (status, created_at);
CREATE INDEX cases_requester ON cases (requester);

-- Every inbound message, raw bytes kept. (message_id, content_hash) makes re-ingest a no-op.
CREATE TABLE messages (
    id            BIGSERIAL PRIMARY KEY,
    case_id       BIGINT NOT NULL REFERENCES cases (id),
    message_id    TEXT NOT NULL,
    content_hash  TEXT NOT NULL,
    sender        TEXT NOT NULL,
    sender_name   TEXT,
    subject       TEXT NOT NULL,
    body          TEXT NOT NULL,
    auto_signals  TEXT NOT NULL,
    origin        TEXT NOT NULL,
    sent_date     TEXT,
    raw           BYTEA NOT NULL,
    received_at   BIGINT NOT NULL
);
CREATE UNIQUE INDEX messages_dedupe ON messages (message_id, content_hash);
CREATE INDEX messages_case ON messages (case_id, id);

CREATE TABLE attachments (
    id            BIGSERIAL PRIMARY KEY,
    message_row   BIGINT NOT NULL REFERENCES messages (id),
    filename      TEXT,
    content_type  TEXT NOT NULL,
    size          BIGINT NOT NULL,
    sha256        TEXT NOT NULL,
    content       BYTEA,
    omitted       TEXT
);
CREATE INDEX attachments_message ON attachments (message_row);

-- Addresses allowed to write to a case besides the requester and the technicians.
CREATE TABLE participants (
    case_id  BIGINT NOT NULL REFERENCES cases (id),
    address  TEXT NOT NULL,
    PRIMARY KEY (case_id, address)
);

-- The append-only record of everything that happened to a case.
CREATE TABLE events (
    id       BIGSERIAL PRIMARY KEY,
    case_id  BIGINT NOT NULL REFERENCES cases (id),
    at       BIGINT NOT NULL,
    actor    TEXT NOT NULL,
    kind     TEXT NOT NULL,
    detail   TEXT NOT NULL
);
CREATE INDEX events_case ON events (case_id, id);

-- Outgoing mail, written in the same transaction as the case change; rendered and sent by the
-- outbox worker. message_id is fixed here, so a resend after a crash carries the same id.
CREATE TABLE outbox (
    id               BIGSERIAL PRIMARY KEY,
    case_id          BIGINT REFERENCES cases (id),
    kind             TEXT NOT NULL,
    template         TEXT NOT NULL,
    context          TEXT NOT NULL,
    recipient        TEXT NOT NULL,
    recipient_name   TEXT,
    message_id       TEXT NOT NULL UNIQUE,
    in_reply_to      TEXT,
    reference_ids    TEXT NOT NULL,
    status           TEXT NOT NULL,
    attempts         BIGINT NOT NULL,
    next_attempt_at  BIGINT NOT NULL,
    last_error       TEXT,
    subject          TEXT,
    body             TEXT,
    created_at       BIGINT NOT NULL,
    sent_at          BIGINT
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
CREATE INDEX outbox_recipient ON outbox (recipient, kind, created_at);
CREATE INDEX outbox_case ON outbox (case_id);

-- Raw messages that could not become a case or a case message, with the reason.
CREATE TABLE quarantine (
    id            BIGSERIAL PRIMARY KEY,
    content_hash  TEXT NOT NULL UNIQUE,
    origin        TEXT NOT NULL,
    error         TEXT NOT NULL,
    size          BIGINT NOT NULL,
    raw           BYTEA NOT NULL,
    received_at   BIGINT NOT NULL
);
