//! The database: one SQL text for SQLite and PostgreSQL through sqlx's Any driver (`$N`
//! placeholders, `RETURNING`, `ON CONFLICT`; timestamps as i64 milliseconds UTC, enums as TEXT).
//! [`Store`] owns the pool and the backend choice; the submodules hold the statements, one
//! function each, and take a `&mut Tx` so one inbound message is one transaction.

pub(crate) mod attempts;
pub(crate) mod cases;
pub(crate) mod casework;
pub(crate) mod due;
pub(crate) mod events;
pub(crate) mod imap;
pub(crate) mod lease;
pub(crate) mod messages;
pub(crate) mod outbox;
pub(crate) mod packed;
pub(crate) mod quarantine;
pub(crate) mod queues;
pub(crate) mod requests;
pub(crate) mod schedule;

use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use crate::model::Millis;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{Any, AnyPool, ConnectOptions, Executor};

/// A transaction on either backend.
pub type Tx = sqlx::Transaction<'static, Any>;

/// A transaction plus the case events written in it, which are buffered and inserted together
/// (one multi-row statement) at commit, the ticket counter, bumped once per transaction, and
/// the caps' per-minute tallies of the mail it queues, upserted together at commit (the caps'
/// reads add them): nothing reads events back while ingesting, and each statement saved is a
/// round trip to the database saved. Derefs to [`Tx`] for everything else.
pub struct Work {
    tx: Tx,
    events: Vec<cases::NewEvent>,
    tallies: outbox::Tallies,
    /// First and last ticket number allocated in this transaction.
    tickets: Option<(i64, i64)>,
    /// Metrics the events stand for (metric, label, value), recorded once committed.
    counts: Vec<(&'static str, &'static str, String)>,
    /// What raw messages stored in it are compressed with.
    dictionary: Option<std::sync::Arc<packed::Dictionary>>,
}

impl Work {
    /// Inserts the buffered events and commits.
    ///
    /// # Errors
    /// Database failure; nothing is committed then.
    pub async fn commit(mut self) -> Result<(), Error> {
        if let Some((first, last)) = self.tickets {
            if last > first {
                cases::save_ticket_counter(&mut self.tx, last).await?;
            }
        }
        cases::insert_events(&mut self.tx, &self.events).await?;
        outbox::save_tallies(&mut self.tx, &self.tallies).await?;
        self.tx.commit().await?;
        for (metric, label, value) in self.counts {
            metrics::counter!(metric, label => value).increment(1);
        }
        Ok(())
    }

    /// Buffers an event until [`Work::commit`].
    pub fn event(&mut self, event: cases::NewEvent) {
        self.events.push(event);
    }

    /// Counts `metric` with `label = value` once this transaction commits: what a rollback
    /// undoes is never counted.
    pub fn count(&mut self, metric: &'static str, label: &'static str, value: String) {
        self.counts.push((metric, label, value));
    }
}

impl std::ops::Deref for Work {
    type Target = Tx;
    fn deref(&self) -> &Tx {
        &self.tx
    }
}

impl std::ops::DerefMut for Work {
    fn deref_mut(&mut self) -> &mut Tx {
        &mut self.tx
    }
}

/// Which database the URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// One file, one writer: the default.
    Sqlite,
    /// Shared by several daemons.
    Postgres,
}

/// Why a database operation failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The driver's error (connection, SQL, constraint). Not a `#[source]`: sqlx's own message
    /// already includes its cause, and the chain would print it twice. A full disk says so,
    /// with what to do.
    #[error("database error: {0}{hint}", hint = if is_disk_full(.0) { DISK_FULL_HINT } else { "" })]
    Sqlx(sqlx::Error),
    /// A migration failed or the database is newer than this binary.
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The URL is not one we can use.
    #[error("{0}")]
    Config(String),
    /// A stored value does not parse (a bug or a hand-edited row).
    #[error("corrupt row: {0}")]
    Corrupt(String),
}

/// What a full disk under the database means for the operator.
const DISK_FULL_HINT: &str = " (the disk under the database is full or failing: free space; \
     intake and delivery resume by themselves, and unprocessed mail waits where it is)";

/// SQLite's SQLITE_FULL (13) and SQLITE_IOERR (10, with its extended codes); PostgreSQL's
/// insufficient resources (class 53: disk full, out of memory) and I/O error (58030). These pass
/// once space returns: nothing is wrong with the message being stored.
fn is_disk_full(e: &sqlx::Error) -> bool {
    let sqlx::Error::Database(db) = e else {
        return false;
    };
    db.code().is_some_and(|c| match c.len() {
        // PostgreSQL's SQLSTATE is five characters; SQLite's codes are at most four digits.
        5 => c.starts_with("53") || c == "58030",
        _ => c.parse::<i32>().is_ok_and(|n| matches!(n & 0xff, 10 | 13)),
    })
}

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        Error::Sqlx(e)
    }
}

impl Error {
    /// True when retrying later may succeed (connection lost, database busy or locked, disk
    /// full); false when the same input will fail the same way.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Sqlx(e) => match e {
                sqlx::Error::Io(_)
                | sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::WorkerCrashed
                | sqlx::Error::Tls(_) => true,
                sqlx::Error::Database(db) => {
                    let msg = db.message().to_ascii_lowercase();
                    // SQLite: SQLITE_BUSY / SQLITE_LOCKED; PostgreSQL: serialization failure,
                    // deadlock, and the connection-exception class 08.
                    msg.contains("database is locked")
                        || msg.contains("database is busy")
                        || db.code().is_some_and(|c| {
                            c == "40001"
                                || c == "40P01"
                                || c.starts_with("08")
                                || c == "5"
                                || c == "6"
                        })
                        || is_disk_full(e)
                }
                _ => false,
            },
            Error::Migrate(_) | Error::Config(_) | Error::Corrupt(_) => false,
        }
    }

    /// True when the error is a unique-constraint violation: the row is already there.
    pub fn is_unique_violation(&self) -> bool {
        matches!(self, Error::Sqlx(sqlx::Error::Database(db)) if db.is_unique_violation())
    }
}

/// The pool and which backend it talks to.
#[derive(Debug, Clone)]
pub struct Store {
    /// Shared connections; on SQLite exactly one, the single writer.
    pub pool: AnyPool,
    /// The backend, for the few statements that differ.
    pub backend: Backend,
    /// The SQLite file, for the lock that serialises migrations between processes.
    sqlite_file: Option<std::path::PathBuf>,
    /// Intake attempts this process began and could not take back when a transient failure
    /// left their messages unprocessed (the database had failed): see [`attempts::owe`].
    owed_attempts: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    /// The dictionary raw messages are compressed with (see [`packed`]).
    dictionary: std::sync::Arc<std::sync::RwLock<Compression>>,
}

/// Which dictionary this process compresses messages with.
#[derive(Debug, Default)]
enum Compression {
    /// None yet: the database has too few messages, or has not been asked.
    #[default]
    Plain,
    /// This one.
    Dictionary(std::sync::Arc<packed::Dictionary>),
    /// Training failed in this process (logged); not tried again until it restarts.
    Failed,
}

impl Store {
    /// Connects to `url`, creating a SQLite file (and its directory) when missing.
    ///
    /// # Errors
    /// Unsupported URL, unreachable server, unwritable directory.
    pub async fn connect(url: &str) -> Result<Store, Error> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            return Err(Error::Config(
                "database.url must start with sqlite: or postgres://".into(),
            ));
        };
        let (url, memory) = match backend {
            Backend::Sqlite => sqlite_url(url)?,
            Backend::Postgres => (url.to_owned(), false),
        };
        let sqlite_file = (backend == Backend::Sqlite && !memory).then(|| {
            let rest = url.trim_start_matches("sqlite://");
            std::path::PathBuf::from(rest.split_once('?').map_or(rest, |(p, _)| p))
        });
        let options = AnyConnectOptions::from_str(&url)?.disable_statement_logging();
        let pool = match backend {
            Backend::Sqlite => {
                let pool = AnyPoolOptions::new()
                    .max_connections(1)
                    .min_connections(u32::from(memory))
                    .idle_timeout(if memory {
                        None
                    } else {
                        Some(Duration::from_secs(600))
                    })
                    .max_lifetime(if memory {
                        None
                    } else {
                        Some(Duration::from_secs(3600))
                    })
                    .acquire_timeout(Duration::from_secs(30))
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            conn.execute("PRAGMA journal_mode = WAL").await?;
                            conn.execute("PRAGMA busy_timeout = 5000").await?;
                            conn.execute("PRAGMA foreign_keys = ON").await?;
                            // A commit is on disk before the source message is moved or
                            // flagged: in WAL mode, NORMAL may lose the last commits in a
                            // power loss (they are synced only at checkpoints).
                            conn.execute("PRAGMA synchronous = FULL").await?;
                            // Statement journals and sorts in memory, not in temporary files
                            // created and deleted per statement.
                            conn.execute("PRAGMA temp_store = MEMORY").await?;
                            Ok(())
                        })
                    });
                // An in-memory database lives only in its one connection: never discarded.
                let pool = if memory {
                    pool
                } else {
                    pool.after_release(|conn, _| Box::pin(async move { Ok(healthy(conn).await) }))
                };
                pool.connect_with(options).await?
            }
            Backend::Postgres => {
                AnyPoolOptions::new()
                    .max_connections(5)
                    .acquire_timeout(Duration::from_secs(10))
                    .after_release(|conn, _| Box::pin(async move { Ok(healthy(conn).await) }))
                    .connect_with(options)
                    .await?
            }
        };
        Ok(Store {
            pool,
            backend,
            sqlite_file,
            owed_attempts: std::sync::Arc::default(),
            dictionary: std::sync::Arc::default(),
        })
    }

    /// Applies the migrations this binary carries.
    ///
    /// # Errors
    /// A failed migration, or a database migrated by a newer version.
    pub async fn migrate(&self) -> Result<(), Error> {
        // sqlx locks migrations on PostgreSQL (an advisory lock) but not on SQLite, where two
        // processes starting together (the daemon and a CLI command) would both apply the same
        // migration: hold an exclusive lock on a file beside the database meanwhile.
        let _lock = match &self.sqlite_file {
            Some(db) => Some(lock_file(db).await?),
            None => None,
        };
        match self.backend {
            Backend::Sqlite => sqlx::migrate!("migrations/sqlite").run(&self.pool).await?,
            Backend::Postgres => {
                sqlx::migrate!("migrations/postgres")
                    .run(&self.pool)
                    .await?
            }
        }
        if let Some(d) = packed::newest(&self.pool).await? {
            self.set_compression(Compression::Dictionary(d));
        }
        Ok(())
    }

    fn set_compression(&self, c: Compression) {
        *self
            .dictionary
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = c;
    }

    /// The dictionary new raw messages are compressed with, if any.
    pub(crate) fn dictionary(&self) -> Option<std::sync::Arc<packed::Dictionary>> {
        match &*self
            .dictionary
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
        {
            Compression::Dictionary(d) => Some(d.clone()),
            Compression::Plain | Compression::Failed => None,
        }
    }

    /// Trains the compression dictionary once the database holds enough messages (see
    /// [`packed::train`]); after each intake batch, costing one indexed read until then.
    /// Best effort: a failure is logged once and messages stay compressed without one.
    pub async fn train_dictionary(&self, now: Millis) {
        let untried = matches!(
            *self
                .dictionary
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
            Compression::Plain
        );
        if !untried {
            return;
        }
        let started = std::time::Instant::now();
        match packed::train(&self.pool, now).await {
            Ok(Some(d)) => {
                tracing::info!(
                    dictionary = d.id,
                    secs = started.elapsed().as_secs_f64(),
                    "raw messages are compressed with a dictionary trained on this desk's mail from now on"
                );
                self.set_compression(Compression::Dictionary(d));
            }
            Ok(None) => {}
            Err(error) => {
                tracing::warn!(%error, "no compression dictionary: messages stay compressed one by one");
                self.set_compression(Compression::Failed);
            }
        }
    }

    /// `INDEXED BY index` on SQLite, where a query must read that index whatever the planner
    /// estimates; nothing on PostgreSQL, which plans by its own statistics.
    pub(crate) fn indexed_by(&self, index: &str) -> String {
        match self.backend {
            Backend::Sqlite => format!("INDEXED BY {index}"),
            Backend::Postgres => String::new(),
        }
    }

    /// Lets SQLite's query planner know the tables' shapes (`PRAGMA optimize`: an ANALYZE,
    /// sampled by `analysis_limit`, of the tables that grew manifold since the last one, and
    /// nothing when none did). Without statistics the planner takes any range for a full scan
    /// and walks the primary key of a million cases for the scheduler's warnings instead of
    /// their small partial index. (The sample is coarse: it still leaves the first-response
    /// queries on the status index, which is why the clocks name their index: see
    /// [`Store::indexed_by`].) PostgreSQL's autovacuum does this by itself.
    ///
    /// # Errors
    /// Database failure.
    pub async fn optimize(&self) -> Result<(), Error> {
        if self.backend == Backend::Sqlite {
            // One connection for both: the limit is the connection's. 1,000 rows sampled per
            // index keeps the analysis of a million cases to a fraction of a second (a full
            // ANALYZE of them took 10 s in the scheduler's first round).
            let mut conn = self.pool.acquire().await?;
            sqlx::query("PRAGMA analysis_limit = 1000")
                .execute(&mut *conn)
                .await?;
            sqlx::query("PRAGMA optimize = 0x10002")
                .execute(&mut *conn)
                .await?;
        }
        Ok(())
    }

    /// Starts a transaction.
    ///
    /// # Errors
    /// The pool could not hand out a connection.
    pub async fn begin(&self) -> Result<Tx, Error> {
        Ok(self.pool.begin().await?)
    }

    /// Starts a transaction with buffered events.
    ///
    /// # Errors
    /// The pool could not hand out a connection.
    pub async fn work(&self) -> Result<Work, Error> {
        Ok(Work {
            dictionary: self.dictionary(),
            tx: self.pool.begin().await?,
            events: Vec::new(),
            tallies: outbox::Tallies::default(),
            tickets: None,
            counts: Vec::new(),
        })
    }

    /// Closes the pool, waiting for connections to return.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// An exclusive lock on `DB-migrate.lock`, held until the file is dropped.
async fn lock_file(db: &Path) -> Result<std::fs::File, Error> {
    let mut name = db.as_os_str().to_owned();
    name.push("-migrate.lock");
    let path = std::path::PathBuf::from(name);
    tokio::task::spawn_blocking(move || {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(crate::files::FILE_MODE)
            .open(&path)?;
        file.lock()?;
        Ok::<_, std::io::Error>(file)
    })
    .await
    .map_err(|e| Error::Config(format!("migration lock task failed: {e}")))?
    .map_err(|e| Error::Config(format!("cannot lock the database for migrating: {e}")))
}

/// Adds `mode=rwc` and creates the parent directory (0700) and the file (0600) when missing,
/// before SQLite opens it: SQLite would create it with the umask's mode, and its `-wal` and
/// `-shm` files take the database file's mode. Reports whether it is in memory.
fn sqlite_url(url: &str) -> Result<(String, bool), Error> {
    let rest = url.trim_start_matches("sqlite:").trim_start_matches("//");
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if path.is_empty() || path == ":memory:" {
        return Ok(("sqlite::memory:".into(), true));
    }
    if let Some(dir) = Path::new(path)
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
    {
        crate::files::create_dir_all(dir).map_err(|e| {
            Error::Config(format!(
                "cannot create the database directory {}: {e}",
                dir.display()
            ))
        })?;
    }
    crate::files::create_file(Path::new(path))
        .map_err(|e| Error::Config(format!("cannot create the database file {path}: {e}")))?;
    let query = if query.is_empty() {
        "mode=rwc".to_owned()
    } else {
        query.to_owned()
    };
    Ok((format!("sqlite://{path}?{query}"), false))
}

/// Whether a connection given back to the pool may be used again. One still inside a
/// transaction is not: a COMMIT or ROLLBACK failed (a full disk, an I/O error), and the driver
/// would run the next transaction as a savepoint inside the dead one, so its "commits" would
/// reach nobody but this connection and vanish with it. Such a connection is closed and the
/// pool opens a fresh one. A transaction dropped without a commit (nothing to do after all)
/// has its ROLLBACK sent but not always run yet: a ping waits behind it before a second look.
async fn healthy(conn: &mut sqlx::AnyConnection) -> bool {
    use sqlx::Connection;
    if !conn.is_in_transaction() {
        return true;
    }
    if conn.ping().await.is_ok() && !conn.is_in_transaction() {
        return true;
    }
    tracing::warn!(
        "database connection left inside a failed transaction; closing it and opening a new one"
    );
    false
}

/// `$1, $2, …, $n`: the placeholders of an `IN (…)` list of `n` values.
pub(crate) fn placeholders(n: usize) -> String {
    placeholders_from(1, n)
}

/// `$first, …`: `n` numbered placeholders from `$first` on, for an `IN (…)` after other binds.
pub(crate) fn placeholders_from(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Milliseconds since the Unix epoch, the unit of every stored timestamp.
pub fn now_ms() -> Millis {
    Millis(jiff::Timestamp::now().as_millisecond())
}

/// Formats a stored timestamp as RFC 3339 UTC for people and JSON.
pub fn format_ms(at: Millis) -> String {
    at.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::Row;

    #[tokio::test]
    async fn sqlite_file_is_created_in_wal_mode_and_migrated() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/dir/helpdesk.db");
        let store = Store::connect(&format!("sqlite://{}", path.display()))
            .await
            .unwrap();
        store.migrate().await.unwrap();
        store.migrate().await.expect("migrating twice is a no-op");
        assert!(path.exists());
        let mode: String = sqlx::query("PRAGMA journal_mode")
            .fetch_one(&store.pool)
            .await
            .unwrap()
            .try_get(0)
            .unwrap();
        assert_eq!(mode, "wal");
        store.close().await;
    }

    /// A transaction dropped without a commit (the scheduler's digest slot already taken, say)
    /// gives its connection back to the pool: it is not mistaken for one stuck in a failed
    /// transaction and replaced (which logged a warning and reopened the database each time).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_transaction_dropped_without_commit_keeps_its_connection() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("helpdesk.db");
        let store = Store::connect(&format!("sqlite://{}", path.display()))
            .await
            .unwrap();
        store.migrate().await.unwrap();
        // Lives only as long as the one connection does.
        sqlx::query("CREATE TEMP TABLE marker (x BIGINT)")
            .execute(&store.pool)
            .await
            .unwrap();
        for _ in 0..200 {
            let mut work = store.work().await.unwrap();
            sqlx::query("UPDATE counters SET value = value WHERE name = 'ticket'")
                .execute(&mut **work)
                .await
                .unwrap();
            drop(work);
            sqlx::query("SELECT COUNT(*) FROM temp.marker")
                .fetch_one(&store.pool)
                .await
                .expect("the same connection, not a new one");
        }
        store.close().await;
    }

    /// A commit is on disk before intake moves or flags its source messages.
    #[tokio::test]
    async fn sqlite_commits_are_synced_in_full() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("helpdesk.db");
        let store = Store::connect(&format!("sqlite://{}", path.display()))
            .await
            .unwrap();
        let synchronous: i64 = sqlx::query("PRAGMA synchronous")
            .fetch_one(&store.pool)
            .await
            .unwrap()
            .try_get(0)
            .unwrap();
        assert_eq!(synchronous, 2, "PRAGMA synchronous = FULL");
        store.close().await;
    }

    /// The database, its directory and SQLite's companion files are private to the user,
    /// whatever the umask.
    #[tokio::test]
    async fn sqlite_file_and_directory_are_created_private() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state/helpdesk.db");
        let store = Store::connect(&format!("sqlite://{}", path.display()))
            .await
            .unwrap();
        store.migrate().await.unwrap();
        assert_eq!(mode(&dir.path().join("state")), 0o700);
        for file in [
            "helpdesk.db",
            "helpdesk.db-wal",
            "helpdesk.db-shm",
            "helpdesk.db-migrate.lock",
        ] {
            assert_eq!(mode(&dir.path().join("state").join(file)), 0o600, "{file}");
        }
        store.close().await;
    }

    #[test]
    fn unsupported_urls_are_refused() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let err = rt.block_on(Store::connect("mysql://x")).unwrap_err();
        assert!(err.to_string().contains("sqlite: or postgres://"), "{err}");
    }
}

#[cfg(test)]
pub(crate) mod testing {
    use super::*;

    /// Stores to run a test against: in-memory SQLite always, plus a fresh PostgreSQL database
    /// when `HELPDESK_TEST_POSTGRES_URL` names a server (CI always does; `CI=true` without it
    /// is a failure, never a silent skip).
    pub async fn stores() -> Vec<TestStore> {
        let mut out = vec![TestStore {
            store: memory().await,
            admin: None,
        }];
        match std::env::var("HELPDESK_TEST_POSTGRES_URL") {
            Ok(url) => out.push(postgres(&url).await),
            Err(_) if std::env::var("CI").is_ok_and(|v| v == "true") => {
                panic!("CI=true but HELPDESK_TEST_POSTGRES_URL is not set: PostgreSQL tests must run in CI")
            }
            Err(_) => {}
        }
        out
    }

    /// A store under test, and what to drop afterwards.
    pub struct TestStore {
        pub store: Store,
        admin: Option<(AnyPool, String)>,
    }

    impl TestStore {
        /// Closes the store and drops its PostgreSQL database.
        pub async fn cleanup(self) {
            self.store.close().await;
            if let Some((admin, name)) = self.admin {
                let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .execute(&admin)
                    .await
                    .expect("drop test database");
                admin.close().await;
            }
        }
    }

    /// A migrated in-memory SQLite store.
    pub async fn memory() -> Store {
        let store = Store::connect("sqlite::memory:")
            .await
            .expect("in-memory SQLite");
        store.migrate().await.expect("migrations apply");
        store
    }

    async fn postgres(url: &str) -> TestStore {
        sqlx::any::install_default_drivers();
        let admin = AnyPoolOptions::new()
            .max_connections(1)
            .connect(url)
            .await
            .expect("connect to HELPDESK_TEST_POSTGRES_URL");
        let name = format!("helpdesk_test_{}", uuid::Uuid::new_v4().simple());
        let sql = format!("CREATE DATABASE {name}");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&admin)
            .await
            .expect("create test database");
        let (base, _) = url.rsplit_once('/').expect("URL has a database path");
        let store = Store::connect(&format!("{base}/{name}"))
            .await
            .expect("connect to the test database");
        store.migrate().await.expect("PostgreSQL migrations apply");
        TestStore {
            store,
            admin: Some((admin, name)),
        }
    }
}
