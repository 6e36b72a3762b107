-- Several instances on one database: who may read the mailbox. A lease is held until
-- expires_at and renewed by its holder; when the holder dies, another instance takes it once
-- it has expired. Keep migrations/postgres/0005_leases.sql in step with this file.
CREATE TABLE leases (
    name        TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    expires_at  BIGINT NOT NULL
);
