-- Service requests by mail: a task's number on its case (the `T2` of `[HD-000123/T2]`), due
-- date and outcome (done or rejected, by whom, with the note or reason); approvals asked of
-- named people, answered by reply; the outgoing mail a task or an approval request went out in
-- (a reply to it answers that task or approval); the customer's rating of a resolution; and
-- what a conference request says about its event (dates, times, place, travel, hardware, tasks).
-- Keep migrations/postgres/0010_service_requests.sql in step with this file.
ALTER TABLE tasks ADD COLUMN number BIGINT NOT NULL DEFAULT 0;
ALTER TABLE tasks ADD COLUMN due_at BIGINT;
ALTER TABLE tasks ADD COLUMN done_by TEXT;
ALTER TABLE tasks ADD COLUMN done_at BIGINT;
ALTER TABLE tasks ADD COLUMN outcome TEXT;
UPDATE tasks SET number = (SELECT COUNT(*) FROM tasks t WHERE t.case_id = tasks.case_id AND t.id <= tasks.id);
CREATE INDEX tasks_open_due ON tasks (status, due_at);

CREATE TABLE approvals (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id      BIGINT NOT NULL REFERENCES cases (id),
    approver     TEXT NOT NULL,
    -- `any`: one approval suffices; `all`: every approver must approve.
    needs        TEXT NOT NULL,
    -- pending, approved, rejected, withdrawn (decided without this answer)
    status       TEXT NOT NULL,
    reason       TEXT,
    asked_by     TEXT NOT NULL,
    asked_at     BIGINT NOT NULL,
    answered_at  BIGINT,
    remind_at    BIGINT,
    reminders    BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX approvals_case ON approvals (case_id, id);
CREATE INDEX approvals_remind ON approvals (status, remind_at);

ALTER TABLE outbox ADD COLUMN task_id BIGINT REFERENCES tasks (id);
ALTER TABLE outbox ADD COLUMN approval_id BIGINT REFERENCES approvals (id);

ALTER TABLE cases ADD COLUMN rating BIGINT;
ALTER TABLE cases ADD COLUMN rated_at BIGINT;
ALTER TABLE cases ADD COLUMN event TEXT;
