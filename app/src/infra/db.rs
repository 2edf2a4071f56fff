//! The connection pool: a SQLite file in WAL mode with a busy timeout (the default), or a
//! PostgreSQL server (chains of showrooms); write transactions take the one write lock up
//! front (`BEGIN IMMEDIATE`, or an advisory lock) so two writers never deadlock half-way.

use std::str::FromStr;
use std::time::Duration;

use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions, PgSslMode};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Connection, Postgres, Sqlite, SqliteConnection, SqlitePool, Transaction};

/// One of the two databases the product runs on. Every statement is written once and run
/// through `db_run!`, which compiles it for both (sqlx's `Any` driver cannot carry this
/// code: booleans from SQLite, NUMERIC sums).
#[derive(Debug, Clone)]
pub enum Backend<S, P> {
    Sqlite(S),
    Postgres(P),
}

/// A connection of either database, borrowed for a few statements.
pub type Conn<'a> = Backend<&'a mut SqliteConnection, &'a mut PgConnection>;

impl<'a> Conn<'a> {
    /// The same connection again, for the next statement (`db_run!` takes it by value).
    pub fn backend(&mut self) -> Conn<'_> {
        match self {
            Backend::Sqlite(c) => Backend::Sqlite(&mut **c),
            Backend::Postgres(c) => Backend::Postgres(&mut **c),
        }
    }
}

/// Runs one statement on whichever database `$on` (a `Db`, a `WriteTx`, a `PoolConn` or a
/// `Conn`) holds: `$body` is compiled once per backend with `$c` its executor, so both arms
/// type-check against both drivers.
#[macro_export]
macro_rules! db_run {
    ($on:expr, |$c:ident| $body:expr) => {
        match $on.backend() {
            $crate::infra::db::Backend::Sqlite($c) => $body,
            $crate::infra::db::Backend::Postgres($c) => $body,
        }
    };
    // `$d` names the backend's `sqlx::Database` type in `$body` (for `Sql`).
    ($on:expr, |$c:ident, $d:ident| $body:expr) => {
        match $on.backend() {
            $crate::infra::db::Backend::Sqlite($c) => {
                type $d = ::sqlx::Sqlite;
                $body
            }
            $crate::infra::db::Backend::Postgres($c) => {
                type $d = ::sqlx::Postgres;
                $body
            }
        }
    };
}

/// Moves every id sequence past the highest id in its table, after rows were written with
/// their ids given (the demo loader, a copy of another database): PostgreSQL's identity
/// sequences do not see those, SQLite needs nothing.
pub async fn sync_id_sequences(conn: Conn<'_>) -> Result<(), sqlx::Error> {
    let Backend::Postgres(c) = conn else {
        return Ok(());
    };
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT CAST(table_name AS TEXT) FROM information_schema.columns \
         WHERE table_schema = current_schema() AND column_name = 'id' AND is_identity = 'YES' \
         ORDER BY table_name",
    )
    .fetch_all(&mut *c)
    .await?;
    for table in tables {
        // The names come from the catalogue above, not from outside.
        sqlx::query(&format!(
            "SELECT setval(pg_get_serial_sequence('{table}', 'id'), \
             COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
        ))
        .execute(&mut *c)
        .await?;
    }
    Ok(())
}

/// Switches the row triggers of `tables` off (`on` false) or back on, inside a bulk load's
/// write transaction on PostgreSQL, where each trigger call costs a function call even when
/// it finds the load's pause and does nothing (two million calls for the demo data). The
/// table owner may do this (no superuser); the lock it takes lasts until the commit. SQLite's
/// triggers test the pause in their WHEN clause, cheaply: nothing to do there.
pub async fn set_row_triggers(
    conn: Conn<'_>,
    tables: &[&str],
    on: bool,
) -> Result<(), sqlx::Error> {
    let Backend::Postgres(c) = conn else {
        return Ok(());
    };
    for table in tables {
        let switch = if on { "ENABLE" } else { "DISABLE" };
        // Table names from the caller's code, never from outside.
        sqlx::query(&format!("ALTER TABLE {table} {switch} TRIGGER USER"))
            .execute(&mut *c)
            .await?;
    }
    Ok(())
}

/// The tables whose row triggers keep the roll-ups and the scoring features current.
pub const TRIGGERED_TABLES: [&str; 4] = ["clients", "visits", "service_requests", "sales"];

/// A pooled connection held across several statements (reads that must see one snapshot).
pub struct PoolConn(Backend<PoolConnection<Sqlite>, PoolConnection<Postgres>>);

impl PoolConn {
    pub fn backend(&mut self) -> Conn<'_> {
        match &mut self.0 {
            Backend::Sqlite(c) => Backend::Sqlite(&mut **c),
            Backend::Postgres(c) => Backend::Postgres(&mut **c),
        }
    }
}

use crate::error::{AppError, ConflictCode};

/// Why the database could not be opened; each says what to fix.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("DATABASE_URL {0:?} is not a valid database URL: {1}")]
    BadUrl(String, String),
    #[error(
        "DATABASE_URL {0:?} names PostgreSQL {1}; version 13 or newer is needed (upgrade the server, or use SQLite)"
    )]
    TooOld(String, String),
    #[error("cannot open the database {0:?}: {1}")]
    Open(String, String),
    #[error("cannot apply database migrations: {0}")]
    Migrate(String),
}

#[derive(Clone, Debug)]
pub struct Db {
    pool: Backend<SqlitePool, PgPool>,
    /// Bumped by every write transaction, so cached answers know they are stale.
    generation: std::sync::Arc<std::sync::atomic::AtomicU64>,
    /// Woken after every committed write, so the bot delivers at once.
    written: std::sync::Arc<tokio::sync::Notify>,
    /// The features' caches of this database, each found by its type: they
    /// live and die with this `Db`, so two databases in one process (tests)
    /// never share an answer, and no cache is a process-wide static.
    caches: std::sync::Arc<std::sync::Mutex<Caches>>,
}

type Caches =
    std::collections::HashMap<std::any::TypeId, std::sync::Arc<dyn std::any::Any + Send + Sync>>;

/// The advisory lock every PostgreSQL write transaction takes ("avtosalon" in ASCII).
const WRITE_LOCK: i64 = 0x6176_746f_7361_6c6f;

/// The advisory lock the one server of a PostgreSQL database holds ("avtoserv").
const SERVER_LOCK: i64 = 0x6176_746f_7365_7276;

/// Held by the process serving a PostgreSQL database; dropping it lets another start.
pub struct ServerClaim(#[allow(dead_code)] Option<PgConnection>);

/// How long a request waits for a free connection before it fails.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// How many connections a PostgreSQL pool keeps at most when the configuration does not say.
pub const DEFAULT_PG_CONNECTIONS: u32 = 16;

/// The database holds passports' and faces' metadata: this user only. The file is made
/// private before SQLite opens it, since SQLite gives its -wal and -shm files the main
/// file's permissions when it creates them; ones left by an older version are mended too.
fn make_private(file: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(file)?;
    for suffix in ["", "-wal", "-shm"] {
        let mut name = file.as_os_str().to_owned();
        name.push(suffix);
        match std::fs::set_permissions(&name, std::fs::Permissions::from_mode(0o600)) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            other => other?,
        }
    }
    Ok(())
}

impl Db {
    /// Opens (creating if missing) the database named by `url` and migrates it.
    pub async fn open(url: &str) -> Result<Self, OpenError> {
        Self::open_with(url, None).await
    }

    /// Like [`Db::open`], with at most `max_connections` connections (PostgreSQL; a SQLite
    /// file keeps its own small pool, its writers take turns anyway).
    pub async fn open_with(url: &str, max_connections: Option<u32>) -> Result<Self, OpenError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Self::open_postgres(url, max_connections).await;
        }
        if !url.starts_with("sqlite:") {
            return Err(OpenError::BadUrl(
                redact(url),
                "expected sqlite://FILE or postgres://USER@HOST/DATABASE".into(),
            ));
        }
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| OpenError::BadUrl(redact(url), e.to_string()))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true)
            .pragma("cache_size", "-32000")
            // Deleted personal data is overwritten, not left in free pages.
            .pragma("secure_delete", "ON");
        let in_memory = url.contains(":memory:");
        let file = (!in_memory).then(|| options.get_filename().to_path_buf());
        if let Some(file) = &file {
            make_private(file).map_err(|e| OpenError::Open(redact(url), e.to_string()))?;
            // One connection switches a new file to WAL before the pool opens several:
            // two connections switching at once get "database is locked" without waiting.
            use sqlx::Connection;
            sqlx::SqliteConnection::connect_with(&options)
                .await
                .map_err(|e| OpenError::Open(redact(url), e.to_string()))?
                .close()
                .await
                .map_err(|e| OpenError::Open(redact(url), e.to_string()))?;
        }
        let pool = SqlitePoolOptions::new()
            // An in-memory database exists once per connection.
            .max_connections(if in_memory { 1 } else { 8 })
            .min_connections(1)
            // A request that cannot get a connection fails with an error
            // instead of waiting with no end.
            .acquire_timeout(ACQUIRE_TIMEOUT)
            // No reaper task: connections to a local file never go stale, and
            // sqlx 0.8's reaper can spin forever on a miscounted idle count,
            // never yielding its thread, so any request whose wake-up lands
            // there stalls (launchbadge/sqlx#3645).
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options)
            .await
            .map_err(|e| OpenError::Open(redact(url), e.to_string()))?;
        sqlx::migrate!("../migrations/sqlite")
            .run(&pool)
            .await
            .map_err(|e| OpenError::Migrate(e.to_string()))?;
        Ok(Db::with_pool(Backend::Sqlite(pool)))
    }

    fn with_pool(pool: Backend<SqlitePool, PgPool>) -> Db {
        Db {
            pool,
            generation: Default::default(),
            written: Default::default(),
            caches: Default::default(),
        }
    }

    /// A PostgreSQL server: every session in UTC (the schema keeps Unix seconds, and the
    /// statistics' dates are computed from them, never from the session's zone), TLS
    /// required for any server that is not this machine unless the URL says otherwise.
    async fn open_postgres(url: &str, max_connections: Option<u32>) -> Result<Self, OpenError> {
        let mut options = PgConnectOptions::from_str(url)
            .map_err(|e| OpenError::BadUrl(redact(url), e.to_string()))?
            .application_name("avtosalon")
            .options([("timezone", "UTC")]);
        if !url.contains("sslmode=") && !is_local_host(options.get_host()) {
            options = options.ssl_mode(PgSslMode::Require);
        }
        let cannot_open = |e: sqlx::Error| OpenError::Open(redact(url), e.to_string());
        // One connection first: its error (refused, wrong password, no such database) is
        // the one to show, where a pool would only time out.
        let mut first = PgConnection::connect_with(&options)
            .await
            .map_err(cannot_open)?;
        let (version, number): (String, i64) = sqlx::query_as(
            "SELECT current_setting('server_version'), \
             CAST(current_setting('server_version_num') AS BIGINT)",
        )
        .fetch_one(&mut first)
        .await
        .map_err(cannot_open)?;
        first.close().await.map_err(cannot_open)?;
        if number < 130_000 {
            return Err(OpenError::TooOld(redact(url), version));
        }
        let pool = PgPoolOptions::new()
            .max_connections(max_connections.unwrap_or(DEFAULT_PG_CONNECTIONS).max(2))
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await
            .map_err(cannot_open)?;
        sqlx::migrate!("../migrations/postgres")
            .run(&pool)
            .await
            .map_err(|e| OpenError::Migrate(e.to_string()))?;
        Ok(Db::with_pool(Backend::Postgres(pool)))
    }

    /// Whether this is the PostgreSQL backend (for the few things that differ: backups,
    /// the search index, the second-server check).
    pub fn is_postgres(&self) -> bool {
        matches!(self.pool, Backend::Postgres(_))
    }

    /// The SQLite pool, for what only SQLite has (a file backup, `PRAGMA`s in tests);
    /// `None` on PostgreSQL.
    pub fn sqlite_pool(&self) -> Option<&SqlitePool> {
        match &self.pool {
            Backend::Sqlite(pool) => Some(pool),
            Backend::Postgres(_) => None,
        }
    }

    /// The pool of this database's backend, for `db_run!`.
    pub fn backend(&self) -> Backend<&SqlitePool, &PgPool> {
        match &self.pool {
            Backend::Sqlite(pool) => Backend::Sqlite(pool),
            Backend::Postgres(pool) => Backend::Postgres(pool),
        }
    }

    /// Makes this process the one server of a PostgreSQL database for as long as the
    /// returned claim lives: the caches, the bot's poller and the jobs are per process, so
    /// a second server on the same database would serve stale answers. `None` when another
    /// server holds it. SQLite needs none (the data directory is locked instead).
    pub async fn claim_server(&self) -> Result<Option<ServerClaim>, sqlx::Error> {
        let Backend::Postgres(pool) = &self.pool else {
            return Ok(Some(ServerClaim(None)));
        };
        // A connection of its own, outside the pool: the lock lives as long as it does.
        let mut conn = PgConnection::connect_with(&pool.connect_options()).await?;
        let claimed: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(SERVER_LOCK)
            .fetch_one(&mut conn)
            .await?;
        Ok(claimed.then_some(ServerClaim(Some(conn))))
    }

    /// A connection for several reads in a row.
    pub async fn acquire(&self) -> Result<PoolConn, sqlx::Error> {
        Ok(PoolConn(match &self.pool {
            Backend::Sqlite(pool) => Backend::Sqlite(pool.acquire().await?),
            Backend::Postgres(pool) => Backend::Postgres(pool.acquire().await?),
        }))
    }

    /// Closes every connection (before the file is replaced, or at exit).
    pub async fn close(&self) {
        match &self.pool {
            Backend::Sqlite(pool) => pool.close().await,
            Backend::Postgres(pool) => pool.close().await,
        }
    }

    /// Copies the write-ahead log into the database file and empties it, so
    /// no old version of a page (e.g. of an erased client) stays behind.
    /// Best effort: a busy database is checkpointed later by SQLite itself.
    pub async fn checkpoint(&self) {
        let Backend::Sqlite(pool) = &self.pool else {
            return;
        };
        if let Err(error) = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(pool)
            .await
        {
            tracing::warn!(%error, "checkpoint after erasure failed");
        }
    }

    /// Whether the database answers a trivial query (the health check).
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        db_run!(self, |c| sqlx::query_scalar::<_, i64>(
            "SELECT CAST(1 AS BIGINT)"
        )
        .fetch_one(c)
        .await
        .map(|_| ()))
    }

    /// A write transaction that holds the database's one write lock from its first
    /// statement: SQLite's (`BEGIN IMMEDIATE`), or on PostgreSQL a transaction-wide advisory
    /// lock, so writers run one at a time there too and no check-then-write can interleave.
    pub async fn begin_write(&self) -> Result<WriteTx, sqlx::Error> {
        let tx = match &self.pool {
            Backend::Sqlite(pool) => Backend::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?),
            Backend::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                sqlx::query("SELECT pg_advisory_xact_lock($1)")
                    .bind(WRITE_LOCK)
                    .execute(&mut *tx)
                    .await?;
                Backend::Postgres(tx)
            }
        };
        Ok(WriteTx {
            tx,
            generation: self.generation.clone(),
            written: self.written.clone(),
        })
    }

    /// Marks cached answers stale after a write made outside `begin_write`.
    pub fn note_write(&self) {
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::Release);
        self.written.notify_one();
    }

    /// Resolves after the next committed write (or at once if one landed
    /// since the last wait): one waiter, the outbox delivery loop.
    pub async fn written(&self) {
        self.written.notified().await
    }

    /// The write generation: a cache key part that changes on every write.
    pub fn version(&self) -> u64 {
        self.generation.load(std::sync::atomic::Ordering::Acquire)
    }

    /// This database's cache of type `T` (created empty on first use).
    pub fn cache<T: Default + Send + Sync + 'static>(&self) -> std::sync::Arc<T> {
        let mut caches = self.caches.lock().unwrap_or_else(|p| p.into_inner());
        let cache = caches
            .entry(std::any::TypeId::of::<T>())
            .or_insert_with(|| std::sync::Arc::new(T::default()))
            .clone();
        drop(caches);
        cache
            .downcast::<T>()
            .unwrap_or_else(|_| unreachable!("keyed by its own type"))
    }
}

/// A write transaction; committing it bumps the database's write generation,
/// after the data is visible, so no cache can keep an answer from before it.
pub struct WriteTx {
    tx: Backend<Transaction<'static, Sqlite>, Transaction<'static, Postgres>>,
    generation: std::sync::Arc<std::sync::atomic::AtomicU64>,
    written: std::sync::Arc<tokio::sync::Notify>,
}

impl WriteTx {
    /// The transaction's connection, for `db_run!`.
    pub fn backend(&mut self) -> Conn<'_> {
        match &mut self.tx {
            Backend::Sqlite(tx) => Backend::Sqlite(&mut **tx),
            Backend::Postgres(tx) => Backend::Postgres(&mut **tx),
        }
    }

    pub async fn commit(self) -> Result<(), sqlx::Error> {
        match self.tx {
            Backend::Sqlite(tx) => tx.commit().await?,
            Backend::Postgres(tx) => tx.commit().await?,
        }
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::Release);
        self.written.notify_one();
        Ok(())
    }
}

/// Lets a write report a clash with a UNIQUE column as the conflict the user
/// sees, instead of a SELECT before every INSERT (which two writers could
/// both pass).
pub trait OnUnique<T> {
    /// `column` is `table.column`, as SQLite names it in the violation.
    fn on_unique(self, column: &str, code: ConflictCode) -> Result<T, AppError>;
}

impl<T> OnUnique<T> for Result<T, sqlx::Error> {
    fn on_unique(self, column: &str, code: ConflictCode) -> Result<T, AppError> {
        self.map_err(|error| match &error {
            sqlx::Error::Database(database)
                if database.is_unique_violation() && violates(database.as_ref(), column) =>
            {
                AppError::Conflict { code }
            }
            _ => error.into(),
        })
    }
}

/// Whether the violation is of `table.column`'s UNIQUE constraint: PostgreSQL names the
/// constraint (`table_column_key`, its default name for a column's UNIQUE), SQLite lists
/// the columns in its message.
fn violates(error: &dyn sqlx::error::DatabaseError, column: &str) -> bool {
    match error.constraint() {
        Some(constraint) => constraint == format!("{}_key", column.replace('.', "_")),
        None => violated_columns(error.message()).any(|c| c == column),
    }
}

/// Whether `host` is this machine (a loopback name or address, or a Unix socket folder).
fn is_local_host(host: &str) -> bool {
    host.starts_with('/')
        || host == "localhost"
        || host
            .trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The columns in SQLite's "UNIQUE constraint failed: t.a, t.b" message
/// (SQLite reports no constraint name).
fn violated_columns(message: &str) -> impl Iterator<Item = &str> {
    message
        .split_once(": ")
        .map_or("", |(_, columns)| columns)
        .split(", ")
        .map(str::trim)
}

/// The URL without any password, for messages and logs.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            format!("{}://***{}", &url[..scheme_end], &url[at..])
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn opens_a_file_in_wal_mode_and_migrates() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/t.db", dir.path().display());
        let db = Db::open(&url).await.unwrap();
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(db.sqlite_pool().unwrap())
            .await
            .unwrap();
        assert_eq!(mode, "wal");
        let tables: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name IN ('visits', 'clients', 'notification_outbox')",
        )
        .fetch_one(db.sqlite_pool().unwrap())
        .await
        .unwrap();
        assert_eq!(tables, 3);
        let mut tx = db.begin_write().await.unwrap();
        db_run!(tx, |c| sqlx::query(
            "INSERT INTO settings (key, value) VALUES ('k', 'v')"
        )
        .execute(c)
        .await
        .map(|r| r.rows_affected()))
        .unwrap();
        tx.commit().await.unwrap();
    }

    #[tokio::test]
    async fn a_unique_clash_becomes_the_conflict_of_its_column_only() {
        let db = Db::open("sqlite::memory:").await.unwrap();
        let insert = |login: &'static str, chat: i64| {
            sqlx::query(
                "INSERT INTO staff (login, full_name, password_hash, role, telegram_chat_id, created_at, updated_at) \
                 VALUES ($1, 'A', '!', 'admin', $2, 0, 0)",
            )
            .bind(login)
            .bind(chat)
            .execute(db.sqlite_pool().unwrap())
        };
        insert("a", 1).await.unwrap();
        assert_eq!(
            insert("a", 2)
                .await
                .on_unique("staff.login", ConflictCode::LoginTaken)
                .unwrap_err(),
            AppError::Conflict {
                code: ConflictCode::LoginTaken
            }
        );
        // Another unique column (the Telegram chat) is not the login's clash.
        assert_eq!(
            insert("b", 1)
                .await
                .on_unique("staff.login", ConflictCode::LoginTaken)
                .unwrap_err(),
            AppError::Internal
        );
        // Nor is any other failure.
        let missing = sqlx::query("INSERT INTO no_such_table VALUES (1)")
            .execute(db.sqlite_pool().unwrap())
            .await
            .on_unique("staff.login", ConflictCode::LoginTaken);
        assert_eq!(missing.unwrap_err(), AppError::Internal);
    }

    #[test]
    fn reads_the_columns_of_a_violation() {
        let columns: Vec<&str> =
            violated_columns("UNIQUE constraint failed: car_models.brand, car_models.name")
                .collect();
        assert_eq!(columns, ["car_models.brand", "car_models.name"]);
        assert_eq!(violated_columns("odd").collect::<Vec<_>>(), [""]);
    }

    #[tokio::test]
    async fn refuses_bad_urls_with_a_clear_message() {
        let err = Db::open("mysql://x").await.unwrap_err().to_string();
        assert!(err.contains("sqlite://"), "{err}");
        // Nothing listens on port 1.
        let err = Db::open("postgres://user:secret@127.0.0.1:1/db")
            .await
            .unwrap_err()
            .to_string();
        assert!(!err.contains("secret"), "{err}");
        assert!(err.contains("cannot open"), "{err}");
        let err = Db::open("sqlite:///nonexistent-dir/sub/x.db")
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("cannot open"), "{err}");
    }
}
