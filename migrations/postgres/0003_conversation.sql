-- The conversation between customers and technicians. Keep migrations/sqlite/0003_conversation.sql
-- in step with this file.

-- Who works the case besides its team, why it waits, and how it was resolved.
ALTER TABLE cases ADD COLUMN assignee TEXT;
ALTER TABLE cases ADD COLUMN pending_reason TEXT;
ALTER TABLE cases ADD COLUMN resolution TEXT;

-- Who wrote a message (customer or technician) and whether the customer saw it: a technician's
-- note, or a reply whose commands were refused, is internal.
ALTER TABLE messages ADD COLUMN author_role TEXT NOT NULL DEFAULT 'customer';
ALTER TABLE messages ADD COLUMN visibility TEXT NOT NULL DEFAULT 'public';

-- Team mail carries the customer's name in From and the support address in Reply-To.
ALTER TABLE outbox ADD COLUMN from_name TEXT;
ALTER TABLE outbox ADD COLUMN reply_to TEXT;
CREATE INDEX outbox_case_recipient ON outbox (case_id, recipient, id);

-- Related cases (/link) and a problem's incidents (/problem), stored once per direction.
CREATE TABLE case_links (
    case_id     BIGINT NOT NULL REFERENCES cases (id),
    linked_id   BIGINT NOT NULL REFERENCES cases (id),
    kind        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (case_id, linked_id)
);

-- Work a case hands to another team (/task), the case's technician staying the liaison.
CREATE TABLE tasks (
    id          BIGSERIAL PRIMARY KEY,
    case_id     BIGINT NOT NULL REFERENCES cases (id),
    team        TEXT NOT NULL,
    text        TEXT NOT NULL,
    status      TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX tasks_case ON tasks (case_id, id);
