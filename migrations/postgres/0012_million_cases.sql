-- A million cases: every view of `helpdesk` answers from an index.
-- Keep migrations/sqlite/0012_million_cases.sql in step with this file.

-- `cases list --team`: the filter and its count.
CREATE INDEX cases_team ON cases (team, id);

-- `report sla`: every column the report reads, so its counts and medians read this narrow
-- index instead of the cases themselves (a case row carries its subject, terms and clocks).
CREATE INDEX cases_report ON cases (category, priority, created_at, target_secs, status,
    breached_at, first_response_breached_at, first_response_at, resolved_at);

-- `report sla`'s medians: each is read by skipping to the middle of one of these (per category
-- and priority, and over all cases), never by sorting the cases. Partial: a case enters only
-- once it is answered or resolved, so opening one costs nothing here.
CREATE INDEX cases_first_response_time ON cases (category, priority,
    (first_response_at - created_at)) WHERE first_response_at IS NOT NULL;
CREATE INDEX cases_first_response_time_all ON cases ((first_response_at - created_at))
    WHERE first_response_at IS NOT NULL;
CREATE INDEX cases_resolution_time ON cases (category, priority,
    (resolved_at - created_at)) WHERE resolved_at IS NOT NULL;
CREATE INDEX cases_resolution_time_all ON cases ((resolved_at - created_at))
    WHERE resolved_at IS NOT NULL;

-- The scheduler's next due time, each the first entry of an index holding only the cases the
-- clock concerns (the earliest close of a resolved case, warning, target, first-response
-- warning and target), so a round with nothing due reads a few index pages however many
-- cases there are.
CREATE INDEX cases_resolved_close ON cases (status, close_at);
CREATE INDEX cases_warn_pending ON cases (warn_at) WHERE sla_stage < 1;
CREATE INDEX cases_due_pending ON cases (due_at) WHERE sla_stage < 2;
CREATE INDEX cases_first_response_warn_pending ON cases (first_response_warn_at)
    WHERE first_response_at IS NULL AND first_response_stage < 1
      AND status IN ('open', 'in_progress', 'assigned', 'pending');
CREATE INDEX cases_first_response_due_pending ON cases (first_response_due_at)
    WHERE first_response_at IS NULL AND first_response_stage < 2
      AND status IN ('open', 'in_progress', 'assigned', 'pending');

-- The hourly caps on automatic mail (per mailbox, per domain, in all) and on the
-- notifications one sender causes: counted per minute as mail is queued, so checking a cap
-- reads at most an hour of minutes instead of counting every mail of the hour (which made
-- each new case cost more the busier the desk was). Filled from the outbox as it stands.
CREATE TABLE mail_counts (
    scope   TEXT NOT NULL,   -- 'mailbox', 'domain', 'all', 'cause'
    key     TEXT NOT NULL,   -- the base mailbox, the domain, '' for all, the causing sender
    minute  BIGINT NOT NULL, -- created_at / 60000
    n       BIGINT NOT NULL,
    PRIMARY KEY (scope, key, minute)
);
INSERT INTO mail_counts (scope, key, minute, n)
    SELECT 'mailbox', recipient_key, created_at / 60000, COUNT(*) FROM outbox
    WHERE kind IN ('auto_reply', 'command_error', 'command_receipt') AND recipient_key IS NOT NULL
    GROUP BY recipient_key, created_at / 60000;
INSERT INTO mail_counts (scope, key, minute, n)
    SELECT 'domain', recipient_domain, created_at / 60000, COUNT(*) FROM outbox
    WHERE kind IN ('auto_reply', 'command_error', 'command_receipt')
      AND recipient_domain IS NOT NULL
    GROUP BY recipient_domain, created_at / 60000;
INSERT INTO mail_counts (scope, key, minute, n)
    SELECT 'all', '', created_at / 60000, COUNT(*) FROM outbox
    WHERE kind IN ('auto_reply', 'command_error', 'command_receipt')
    GROUP BY created_at / 60000;
INSERT INTO mail_counts (scope, key, minute, n)
    SELECT 'cause', cause_key, created_at / 60000, COUNT(*) FROM outbox
    WHERE kind = 'notification' AND cause_key IS NOT NULL
    GROUP BY cause_key, created_at / 60000;
