-- The work queue of `helpdesk cases list` read in order from one index, not judged and sorted
-- case by case: at a million cases with most of them open, a page reads its own rows only.
-- Keep migrations/postgres/0013_queue_order.sql in step with this file (there the column is
-- STORED: PostgreSQL has no virtual generated columns).

-- The earliest date among the case's open tasks (`/task … by DATE`); kept by
-- `store::requests` whenever a task is added, answered or moved.
ALTER TABLE cases ADD COLUMN task_due_at BIGINT;
UPDATE cases SET task_due_at = (SELECT MIN(t.due_at) FROM tasks t
                                WHERE t.case_id = cases.id AND t.status = 'open')
    WHERE id IN (SELECT case_id FROM tasks WHERE status = 'open' AND due_at IS NOT NULL);

-- The deadline the queue orders an active case by: the earliest of the resolution target,
-- the awaited first response and the open tasks' dates (the resolution target first among
-- equals), or, with none of them running, when the target was missed; NULL: nothing dated.
-- `store::queues` reads which of them it is back by comparing.
ALTER TABLE cases ADD COLUMN queue_at BIGINT GENERATED ALWAYS AS (CASE
    WHEN due_at IS NOT NULL
         AND (first_response_at IS NOT NULL OR first_response_due_at IS NULL
              OR due_at <= first_response_due_at)
         AND (task_due_at IS NULL OR due_at <= task_due_at) THEN due_at
    WHEN first_response_at IS NULL AND first_response_due_at IS NOT NULL
         AND (task_due_at IS NULL OR first_response_due_at <= task_due_at)
         THEN first_response_due_at
    WHEN task_due_at IS NOT NULL THEN task_due_at
    ELSE breached_at
END) VIRTUAL;

-- The active cases by that deadline, newest first among equals (the queue's first ranks),
-- with the missed target so "not overdue" is judged from the index alone; and the few
-- active cases that missed their target, for the overdue ones still ahead of their deadline.
CREATE INDEX cases_queue ON cases (queue_at, id DESC, breached_at)
    WHERE status IN ('open', 'in_progress', 'assigned', 'pending');
CREATE INDEX cases_queue_breached ON cases (queue_at, id DESC)
    WHERE status IN ('open', 'in_progress', 'assigned', 'pending') AND breached_at IS NOT NULL;

-- `report sla --since`: the medians' indexes carry the creation time too, so a median since a
-- date skips to the middle reading the index alone, not every case on the way.
DROP INDEX cases_first_response_time;
DROP INDEX cases_first_response_time_all;
DROP INDEX cases_resolution_time;
DROP INDEX cases_resolution_time_all;
CREATE INDEX cases_first_response_time ON cases (category, priority,
    (first_response_at - created_at), created_at) WHERE first_response_at IS NOT NULL;
CREATE INDEX cases_first_response_time_all ON cases ((first_response_at - created_at),
    created_at) WHERE first_response_at IS NOT NULL;
CREATE INDEX cases_resolution_time ON cases (category, priority,
    (resolved_at - created_at), created_at) WHERE resolved_at IS NOT NULL;
CREATE INDEX cases_resolution_time_all ON cases ((resolved_at - created_at), created_at)
    WHERE resolved_at IS NOT NULL;
