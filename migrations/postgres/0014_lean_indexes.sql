-- Fewer, better-shaped indexes on `cases`: each case written pays for every one of them, in
-- time and in bytes (about 17 bytes a case each at a million cases).
-- Keep migrations/sqlite/0014_lean_indexes.sql in step with this file.

-- Superseded by the partial indexes of 0012_million_cases.sql, which the scheduler's queries
-- name (`store::due`): the reopen deadline by cases_resolved_close, the SLA warning and
-- target by cases_warn_pending and cases_due_pending, the first-response target by
-- cases_first_response_due_pending.
DROP INDEX cases_close_at;
DROP INDEX cases_warn_at;
DROP INDEX cases_due_at;
DROP INDEX cases_first_response;

-- `cases list --all --status closed` reads the closed cases newest first: along (status, id)
-- they come in that order, where (status, created_at) made the database sort all of them in
-- memory first (63 MiB for 85,000 closed cases of 850,000).
DROP INDEX cases_status;
CREATE INDEX cases_status ON cases (status, id);
