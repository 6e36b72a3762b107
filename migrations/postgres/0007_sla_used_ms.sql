-- The time a paused SLA clock has used is kept in milliseconds, not whole seconds: each pause
-- used to drop its fraction of a second. Existing values are converted. Keep
-- migrations/sqlite and migrations/postgres in step.
ALTER TABLE cases RENAME COLUMN clock_used_real TO clock_used_real_ms;
ALTER TABLE cases RENAME COLUMN clock_used_work TO clock_used_work_ms;
UPDATE cases SET clock_used_real_ms = clock_used_real_ms * 1000,
                 clock_used_work_ms = clock_used_work_ms * 1000;
