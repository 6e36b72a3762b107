-- The dictionaries raw messages are compressed with, trained on the desk's own mail
-- (`store::packed`). Each zstd frame names its dictionary by this ID, which zstd's trainer
-- derives from the dictionary's content.
-- Keep migrations/postgres/0015_dictionaries.sql in step with this file.
CREATE TABLE dictionaries (
    id          BIGINT PRIMARY KEY,
    dict        BLOB NOT NULL,
    created_at  BIGINT NOT NULL
);
