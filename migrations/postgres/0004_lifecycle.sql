-- Lifecycle and clocks: the resolution and reopen window, the SLA clocks and the weekly
-- follow-up, all as due times the scheduler queries, so they survive restarts and fire once.
-- Keep migrations/sqlite/0004_lifecycle.sql in step with this file. Times are ms (UTC).

-- The reopen window: when the case was resolved, when it closes by itself, when it closed.
ALTER TABLE cases ADD COLUMN resolved_at BIGINT;
ALTER TABLE cases ADD COLUMN close_at BIGINT;
ALTER TABLE cases ADD COLUMN closed_at BIGINT;

-- The resolution clock. It runs while the case is open, in progress or assigned; pending,
-- resolved and closed stop it. `clock_since` is when the running stretch began (NULL: stopped);
-- the time used before it is kept both in real seconds and in working seconds of the business
-- calendar, so a target may change between 24x7 and business without losing count.
ALTER TABLE cases ADD COLUMN target_clock TEXT;
ALTER TABLE cases ADD COLUMN clock_since BIGINT;
ALTER TABLE cases ADD COLUMN clock_used_real BIGINT NOT NULL DEFAULT 0;
ALTER TABLE cases ADD COLUMN clock_used_work BIGINT NOT NULL DEFAULT 0;
-- When the target is reached and when the team is warned (NULL: no target, or stopped), what
-- has been sent (0 nothing, 1 the warning, 2 the breach notice), and when it was first missed.
ALTER TABLE cases ADD COLUMN due_at BIGINT;
ALTER TABLE cases ADD COLUMN warn_at BIGINT;
ALTER TABLE cases ADD COLUMN sla_stage BIGINT NOT NULL DEFAULT 0;
ALTER TABLE cases ADD COLUMN breached_at BIGINT;

-- First response: a technician's public reply is due by first_response_due_at.
ALTER TABLE cases ADD COLUMN first_response_due_at BIGINT;
ALTER TABLE cases ADD COLUMN first_response_warn_at BIGINT;
ALTER TABLE cases ADD COLUMN first_response_at BIGINT;
ALTER TABLE cases ADD COLUMN first_response_stage BIGINT NOT NULL DEFAULT 0;
ALTER TABLE cases ADD COLUMN first_response_breached_at BIGINT;

-- The weekly follow-up: when a pending or scheduled case is due a status note.
ALTER TABLE cases ADD COLUMN follow_up_at BIGINT;

-- Cases opened before this migration: their clocks run from when they were opened (24x7).
UPDATE cases SET clock_since = created_at,
                 due_at = created_at + target_secs * 1000,
                 target_clock = '24x7'
 WHERE status IN ('open', 'in_progress', 'assigned') AND target_secs IS NOT NULL;
UPDATE cases SET resolved_at = updated_at, close_at = updated_at + 259200000
 WHERE status = 'resolved';
UPDATE cases SET closed_at = updated_at WHERE status = 'closed';

CREATE INDEX cases_close_at ON cases (close_at);
CREATE INDEX cases_due_at ON cases (due_at);
CREATE INDEX cases_warn_at ON cases (warn_at);
CREATE INDEX cases_first_response ON cases (first_response_due_at);
CREATE INDEX cases_follow_up ON cases (follow_up_at);

-- Periodic mail (the triage digest): the last slot sent, claimed with a conditional UPDATE so
-- a restart or a second instance never sends one twice.
CREATE TABLE schedule_runs (
    name       TEXT PRIMARY KEY,
    last_slot  BIGINT NOT NULL
);
INSERT INTO schedule_runs (name, last_slot) VALUES ('triage_digest', 0);
