-- Incident management by mail: a case's impact and urgency (high, medium, low; the priority
-- follows from them through its category's matrix unless /priority set it, which
-- priority_override records), a problem case's root cause and workaround, why two cases were
-- linked (reported by others: the shared terms), the case a merged one was folded into, whether
-- a case is a major incident (its incidents are linked to it), a case's terms (what a new case
-- is compared with, worked out once), and an outgoing mail that carries a stored inbound message as an
-- attachment (a case redirected to another help desk, forwarded with the original).
-- Keep migrations/sqlite/0009_service_management.sql in step with this file.
ALTER TABLE cases ADD COLUMN impact TEXT;
ALTER TABLE cases ADD COLUMN urgency TEXT;
ALTER TABLE cases ADD COLUMN priority_override BIGINT NOT NULL DEFAULT 0;
ALTER TABLE cases ADD COLUMN root_cause TEXT;
ALTER TABLE cases ADD COLUMN workaround TEXT;
ALTER TABLE case_links ADD COLUMN why TEXT;
ALTER TABLE cases ADD COLUMN merged_into BIGINT REFERENCES cases (id);
ALTER TABLE cases ADD COLUMN major BIGINT NOT NULL DEFAULT 0;
ALTER TABLE cases ADD COLUMN terms TEXT;
CREATE INDEX cases_category_created ON cases (category, created_at);
ALTER TABLE outbox ADD COLUMN attach_message BIGINT REFERENCES messages (id);
