//! One registry, two databases.
//!
//! The approach: every statement is written once, in the SQL that SQLite and PostgreSQL share
//! (`$1` placeholders, `ON CONFLICT … DO UPDATE … WHERE`, `RETURNING`, partial indexes,
//! `COUNT(*) FILTER`), and run through [`Tx`], which wraps the two sqlx transaction types and
//! binds a small set of value types ([`Arg`]) the same way on both. Row structs derive `FromRow`
//! once and decode from either backend. Times are integer milliseconds, so no date type differs
//! between the two. Where the dialects truly differ (row locks) the code asks
//! [`Tx::is_postgres`] at that one spot. Each backend keeps its own migration history under
//! `migrations/<backend>/`.
//!
//! How concurrent writers stay correct. SQLite writers are serial: they take turns on one
//! connection whose transaction starts with `BEGIN IMMEDIATE` (the database lock, taken up
//! front), and the writers that queue together commit together (`group_commit`). PostgreSQL writers run in parallel, and every decision is made on rows that the
//! deciding transaction holds until it commits:
//! - a write transaction reads the rows it decides on with [`Locking`] selects (`FOR UPDATE`),
//!   so a second writer of the same user waits, then sees the first one's result;
//! - a decision that spans users, on a phone number, holds that number's key
//!   ([`Tx::lock_phone`]);
//! - conditional statements (the lock upsert, the webhook lease, the fenced credential
//!   writes) and the unique indexes decide in one statement, and hold even against a writer
//!   that bypasses wasess.
//!
//! Events get their ids at commit, in commit order ([`Tx::commit`], see `events`).

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{FromRow, Postgres, Sqlite, Transaction};

use super::group_commit::{GroupTx, GroupWriter};
use super::Error;

/// How long a SQLite writer waits for another writer before giving up.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// PostgreSQL session limits, so that a frozen or cut-off node cannot hold anyone up for
/// long: its open transaction (and every lock in it) ends after it sat idle this long, and
/// nobody waits longer than this for a lock or a statement.
const PG_SESSION_LIMITS: [(&str, &str); 3] = [
    ("idle_in_transaction_session_timeout", "5s"),
    // Longer than the idle limit: a waiter outlasts a frozen holder and then goes on.
    ("lock_timeout", "8s"),
    ("statement_timeout", "15s"),
];
/// How long a caller waits for a pooled PostgreSQL connection (including opening one).
const PG_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// The advisory-lock class of phone-number keys ("wasp" in ASCII); the other half of the key
/// hashes the registry's schema and the number, so registries in different schemas of one
/// database never wait for each other.
const PG_PHONE_LOCK: i32 = 0x7761_7370;

#[derive(Clone, Debug)]
pub(crate) enum Db {
    /// Readers use the pool; writers share one connection and group their commits.
    Sqlite(SqlitePool, Arc<GroupWriter>),
    Postgres(PgPool),
}

/// A value bound to a `$n` placeholder.
#[derive(Debug, Clone)]
pub(crate) enum Arg {
    Int(i64),
    OptInt(Option<i64>),
    Text(String),
    OptText(Option<String>),
    Bytes(Vec<u8>),
}

impl From<i64> for Arg {
    fn from(value: i64) -> Self {
        Arg::Int(value)
    }
}

impl From<Option<i64>> for Arg {
    fn from(value: Option<i64>) -> Self {
        Arg::OptInt(value)
    }
}

impl From<&str> for Arg {
    fn from(value: &str) -> Self {
        Arg::Text(value.to_string())
    }
}

impl From<&String> for Arg {
    fn from(value: &String) -> Self {
        Arg::Text(value.clone())
    }
}

impl From<String> for Arg {
    fn from(value: String) -> Self {
        Arg::Text(value)
    }
}

impl From<Option<&str>> for Arg {
    fn from(value: Option<&str>) -> Self {
        Arg::OptText(value.map(str::to_string))
    }
}

impl From<&[u8]> for Arg {
    fn from(value: &[u8]) -> Self {
        Arg::Bytes(value.to_vec())
    }
}

impl From<Vec<u8>> for Arg {
    fn from(value: Vec<u8>) -> Self {
        Arg::Bytes(value)
    }
}

impl From<Option<String>> for Arg {
    fn from(value: Option<String>) -> Self {
        Arg::OptText(value)
    }
}

/// `args![a, b, c]` builds the bind list of a statement.
macro_rules! args {
    ($($value:expr),* $(,)?) => {
        vec![$($crate::registry::db::Arg::from($value)),*]
    };
}
pub(crate) use args;

macro_rules! bind_all {
    ($query:expr, $args:expr) => {{
        let mut query = $query;
        for arg in $args {
            query = match arg {
                Arg::Int(value) => query.bind(value),
                Arg::OptInt(value) => query.bind(value),
                Arg::Text(value) => query.bind(value),
                Arg::OptText(value) => query.bind(value),
                Arg::Bytes(value) => query.bind(value),
            };
        }
        query
    }};
}

/// A row type that decodes from both backends.
pub(crate) trait Record:
    for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin
{
}

impl<T> Record for T where
    T: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin
{
}

/// A transaction. Events appended to a write transaction wait in `outbox` and are written at
/// commit (see `events`).
pub(crate) struct Tx {
    conn: Conn,
    writes: bool,
    pub(super) outbox: Vec<super::events::PendingEvent>,
    /// When the transaction began, for `wasess_registry_transaction_duration_seconds`.
    began: std::time::Instant,
}

enum Conn {
    Sqlite(Transaction<'static, Sqlite>),
    /// A SQLite writer's turn in a group commit (see `group_commit`).
    SqliteGroup(GroupTx),
    Postgres(Transaction<'static, Postgres>),
}

/// A `SELECT` of rows a write transaction decides on. On PostgreSQL, in a write transaction,
/// it locks them (`FOR UPDATE`) until commit, and a row that changed while it waited is read
/// as it is now (and left out when it no longer matches). SQLite's writer already holds the
/// whole database. Build one with [`locking!`].
#[derive(Clone, Copy)]
pub(crate) struct Locking {
    pub plain: &'static str,
    pub locked: &'static str,
}

/// `locking!("SELECT …")`: the statement as it is, and with `FOR UPDATE`.
macro_rules! locking {
    ($sql:expr) => {
        $crate::registry::db::Locking {
            plain: $sql,
            locked: concat!($sql, " FOR UPDATE"),
        }
    };
}
pub(crate) use locking;

/// A statement that reads a table out of JSON bound to `$1`, which the two databases spell
/// differently (`json_each` on SQLite, `json_to_recordset` on PostgreSQL; see `bulk`).
#[derive(Clone, Copy)]
pub(crate) struct Dialect {
    pub sqlite: &'static str,
    pub postgres: &'static str,
}

/// A statement both databases spell the same.
impl From<&'static str> for Dialect {
    fn from(sql: &'static str) -> Dialect {
        Dialect {
            sqlite: sql,
            postgres: sql,
        }
    }
}

impl Dialect {
    pub(crate) fn pick(self, postgres: bool) -> &'static str {
        if postgres {
            self.postgres
        } else {
            self.sqlite
        }
    }
}

impl Db {
    /// Opens `url` (`sqlite:PATH`, a bare path, or `postgres://…`) and applies migrations.
    /// On PostgreSQL the connections name `node` (`application_name` `wasessd:<node>`, unless
    /// the URL sets one), so `pg_stat_activity` tells whose transaction is whose.
    pub(crate) async fn open(url: &str, node: &str) -> Result<Db, Error> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Self::open_postgres(url, node).await
        } else {
            let path = url
                .strip_prefix("sqlite://")
                .or_else(|| url.strip_prefix("sqlite:"))
                .unwrap_or(url);
            Self::open_sqlite(Path::new(path)).await
        }
    }

    async fn open_sqlite(path: &Path) -> Result<Db, Error> {
        restrict_to_owner(path).map_err(|error| {
            Error::Internal(format!("cannot make {} private: {error}", path.display()))
        })?;
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a commit is on disk before it is acknowledged, even across power loss.
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(SQLITE_BUSY_TIMEOUT)
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options.clone())
            .await
            .map_err(|error| Error::open(path.display(), error))?;
        sqlx::migrate!("migrations/sqlite")
            .run(&pool)
            .await
            .map_err(|error| Error::Migrate(error.to_string()))?;
        let writer = GroupWriter::open(&options).await?;
        Ok(Db::Sqlite(pool, writer))
    }

    async fn open_postgres(url: &str, node: &str) -> Result<Db, Error> {
        let mut options = PgConnectOptions::from_str(url)
            .map_err(|error| Error::open(redact(url), error))?
            .options(PG_SESSION_LIMITS);
        if options.get_application_name().is_none() {
            options = options.application_name(&format!("wasessd:{node}"));
        }
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(PG_ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await
            .map_err(|error| Error::open(redact(url), error))?;
        // The migrator takes an advisory lock, so nodes starting together migrate once.
        sqlx::migrate!("migrations/postgres")
            .run(&pool)
            .await
            .map_err(|error| Error::Migrate(error.to_string()))?;
        Ok(Db::Postgres(pool))
    }

    /// A small pool of its own on the same database (PostgreSQL; SQLite's writers serialise
    /// on the file anyway), for work that must not wait for a connection of the main pool.
    pub(crate) fn dedicated(&self) -> Db {
        match self {
            Db::Sqlite(pool, writer) => Db::Sqlite(pool.clone(), writer.clone()),
            Db::Postgres(pool) => Db::Postgres(
                PgPoolOptions::new()
                    .max_connections(2)
                    .acquire_timeout(PG_ACQUIRE_TIMEOUT)
                    .connect_lazy_with((*pool.connect_options()).clone()),
            ),
        }
    }

    /// A transaction that will write: it locks what it decides on (see the module comment).
    pub(crate) async fn write(&self) -> Result<Tx, Error> {
        let conn = match self {
            Db::Sqlite(_, writer) => Conn::SqliteGroup(writer.begin().await?),
            Db::Postgres(pool) => Conn::Postgres(pool.begin().await?),
        };
        Ok(Tx::new(conn, true))
    }

    /// A transaction that only reads: it locks nothing.
    pub(crate) async fn read(&self) -> Result<Tx, Error> {
        let conn = match self {
            Db::Sqlite(pool, _) => Conn::Sqlite(pool.begin().await?),
            Db::Postgres(pool) => Conn::Postgres(pool.begin().await?),
        };
        Ok(Tx::new(conn, false))
    }

    /// One read outside any transaction (a single statement sees a consistent snapshot).
    pub(crate) async fn fetch_all<T: Record>(
        &self,
        sql: &'static str,
        args: Vec<Arg>,
    ) -> Result<Vec<T>, Error> {
        Ok(match self {
            Db::Sqlite(pool, _) => {
                bind_all!(sqlx::query_as::<Sqlite, T>(sql), args)
                    .fetch_all(pool)
                    .await?
            }
            Db::Postgres(pool) => {
                bind_all!(sqlx::query_as::<Postgres, T>(sql), args)
                    .fetch_all(pool)
                    .await?
            }
        })
    }

    pub(crate) async fn fetch_optional<T: Record>(
        &self,
        sql: &'static str,
        args: Vec<Arg>,
    ) -> Result<Option<T>, Error> {
        Ok(match self {
            Db::Sqlite(pool, _) => {
                bind_all!(sqlx::query_as::<Sqlite, T>(sql), args)
                    .fetch_optional(pool)
                    .await?
            }
            Db::Postgres(pool) => {
                bind_all!(sqlx::query_as::<Postgres, T>(sql), args)
                    .fetch_optional(pool)
                    .await?
            }
        })
    }

    pub(crate) async fn close(&self) {
        match self {
            Db::Sqlite(pool, writer) => {
                writer.close().await;
                pool.close().await;
            }
            Db::Postgres(pool) => pool.close().await,
        }
    }

    pub(crate) fn is_postgres(&self) -> bool {
        matches!(self, Db::Postgres(_))
    }

    /// Versions of the migrations this build knows and the database has applied.
    pub(crate) async fn migration_versions(&self) -> Result<(Vec<i64>, Vec<i64>), Error> {
        let known: Vec<i64> = match self {
            Db::Sqlite(..) => sqlx::migrate!("migrations/sqlite")
                .iter()
                .map(|m| m.version)
                .collect(),
            Db::Postgres(_) => sqlx::migrate!("migrations/postgres")
                .iter()
                .map(|m| m.version)
                .collect(),
        };
        let mut tx = self.read().await?;
        let applied: Vec<(i64,)> = tx
            .fetch_all(
                "SELECT version FROM _sqlx_migrations WHERE success ORDER BY version",
                args![],
            )
            .await?;
        tx.commit().await?;
        Ok((known, applied.into_iter().map(|(v,)| v).collect()))
    }
}

/// Runs `$query` with `$args` bound on `$tx`'s connection; the number of rows it changed.
macro_rules! run_statement {
    ($tx:expr, $query:expr, $args:expr) => {{
        let affected = match &mut $tx.conn {
            Conn::Sqlite(tx) => bind_all!($query, $args)
                .execute(&mut **tx)
                .await?
                .rows_affected(),
            Conn::SqliteGroup(tx) => bind_all!($query, $args)
                .execute(tx.conn())
                .await?
                .rows_affected(),
            Conn::Postgres(tx) => bind_all!($query, $args)
                .execute(&mut **tx)
                .await?
                .rows_affected(),
        };
        Ok(affected)
    }};
}

impl Tx {
    fn new(conn: Conn, writes: bool) -> Tx {
        Tx {
            conn,
            writes,
            outbox: Vec::new(),
            began: std::time::Instant::now(),
        }
    }

    pub(crate) fn is_postgres(&self) -> bool {
        matches!(self.conn, Conn::Postgres(_))
    }

    fn pick(&self, sql: Locking) -> &'static str {
        if self.writes && self.is_postgres() {
            sql.locked
        } else {
            sql.plain
        }
    }

    /// [`Tx::fetch_all`] of a [`Locking`] select.
    pub(crate) async fn fetch_all_locking<T: Record>(
        &mut self,
        sql: Locking,
        args: Vec<Arg>,
    ) -> Result<Vec<T>, Error> {
        let sql = self.pick(sql);
        self.fetch_all(sql, args).await
    }

    /// [`Tx::fetch_optional`] of a [`Locking`] select.
    pub(crate) async fn fetch_optional_locking<T: Record>(
        &mut self,
        sql: Locking,
        args: Vec<Arg>,
    ) -> Result<Option<T>, Error> {
        let sql = self.pick(sql);
        self.fetch_optional(sql, args).await
    }

    /// Holds `phone`'s key until the transaction ends (PostgreSQL; SQLite's writer holds the
    /// database): what binds a number to a user decides alone. Taken before any row lock, so
    /// that two holders never wait for each other.
    pub(crate) async fn lock_phone(&mut self, phone: &str) -> Result<(), Error> {
        if let Conn::Postgres(tx) = &mut self.conn {
            sqlx::query(
                "SELECT pg_advisory_xact_lock($1, hashtext(current_schema() || ':' || $2))",
            )
            .bind(PG_PHONE_LOCK)
            .bind(phone)
            .execute(&mut **tx)
            .await?;
        }
        Ok(())
    }

    /// [`Tx::execute`] of a [`Dialect`] statement.
    pub(crate) async fn execute_dialect(
        &mut self,
        sql: Dialect,
        args: Vec<Arg>,
    ) -> Result<u64, Error> {
        let sql = sql.pick(self.is_postgres());
        self.execute(sql, args).await
    }

    /// Runs a statement; returns the number of rows it changed.
    pub(crate) async fn execute(
        &mut self,
        sql: &'static str,
        args: Vec<Arg>,
    ) -> Result<u64, Error> {
        run_statement!(self, sqlx::query(sql), args)
    }

    /// [`Tx::execute`] of a statement put together at run time, from fixed pieces only
    /// (never from data: that goes in `args`).
    pub(crate) async fn execute_built(
        &mut self,
        sql: String,
        args: Vec<Arg>,
    ) -> Result<u64, Error> {
        run_statement!(self, sqlx::query(sqlx::AssertSqlSafe(sql)), args)
    }

    pub(crate) async fn fetch_all<T: Record>(
        &mut self,
        sql: &'static str,
        args: Vec<Arg>,
    ) -> Result<Vec<T>, Error> {
        Ok(match &mut self.conn {
            Conn::Sqlite(tx) => {
                bind_all!(sqlx::query_as::<Sqlite, T>(sql), args)
                    .fetch_all(&mut **tx)
                    .await?
            }
            Conn::SqliteGroup(tx) => {
                bind_all!(sqlx::query_as::<Sqlite, T>(sql), args)
                    .fetch_all(tx.conn())
                    .await?
            }
            Conn::Postgres(tx) => {
                bind_all!(sqlx::query_as::<Postgres, T>(sql), args)
                    .fetch_all(&mut **tx)
                    .await?
            }
        })
    }

    pub(crate) async fn fetch_optional<T: Record>(
        &mut self,
        sql: &'static str,
        args: Vec<Arg>,
    ) -> Result<Option<T>, Error> {
        Ok(match &mut self.conn {
            Conn::Sqlite(tx) => {
                bind_all!(sqlx::query_as::<Sqlite, T>(sql), args)
                    .fetch_optional(&mut **tx)
                    .await?
            }
            Conn::SqliteGroup(tx) => {
                bind_all!(sqlx::query_as::<Sqlite, T>(sql), args)
                    .fetch_optional(tx.conn())
                    .await?
            }
            Conn::Postgres(tx) => {
                bind_all!(sqlx::query_as::<Postgres, T>(sql), args)
                    .fetch_optional(&mut **tx)
                    .await?
            }
        })
    }

    pub(crate) async fn fetch_one<T: Record>(
        &mut self,
        sql: &'static str,
        args: Vec<Arg>,
    ) -> Result<T, Error> {
        self.fetch_optional(sql, args)
            .await?
            .ok_or_else(|| Error::Internal(format!("query returned no row: {sql}")))
    }

    /// Writes the events appended to this transaction, then commits.
    pub(crate) async fn commit(mut self) -> Result<(), Error> {
        let events = std::mem::take(&mut self.outbox);
        super::events::flush(&mut self, &events).await?;
        match self.conn {
            Conn::Sqlite(tx) => tx.commit().await?,
            Conn::SqliteGroup(tx) => tx.commit().await?,
            Conn::Postgres(tx) => tx.commit().await?,
        }
        if self.writes {
            crate::metrics::counters().transaction_committed(self.began.elapsed());
            super::events::count_committed(&events);
        }
        Ok(())
    }
}

/// Hides the password of a database URL in messages: the one in `user:password@` and a
/// `password=` query parameter.
pub fn redact(url: &str) -> String {
    let url = match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    };
    match url.split_once('?') {
        Some((base, query)) => {
            let query: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=***"),
                    _ => pair.to_string(),
                })
                .collect();
            format!("{base}?{}", query.join("&"))
        }
        None => url,
    }
}

/// The registry holds every user's WhatsApp credentials: its file (and so the WAL and shared
/// memory files SQLite creates with the same mode) is readable by its owner only.
#[cfg(unix)]
fn restrict_to_owner(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    if path.as_os_str().is_empty() || path.to_str().is_some_and(|p| p.starts_with(':')) {
        return Ok(()); // in-memory database
    }
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
}

#[cfg(not(unix))]
fn restrict_to_owner(_path: &Path) -> std::io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(
            redact("postgres://wasess:s3cret@db:5432/wasess"),
            "postgres://wasess:***@db:5432/wasess"
        );
        assert_eq!(redact("postgres://db/wasess"), "postgres://db/wasess");
        assert_eq!(
            redact("postgres://wasess@db/wasess?sslmode=require&password=s3cret"),
            "postgres://wasess@db/wasess?sslmode=require&password=***"
        );
        assert_eq!(
            redact("postgres://u:p@db/w?options[search_path]=s"),
            "postgres://u:***@db/w?options[search_path]=s"
        );
        assert_eq!(
            redact("/var/lib/wasess/registry.db"),
            "/var/lib/wasess/registry.db"
        );
    }
}
