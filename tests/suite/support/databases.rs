//! The databases registry tests run on: a fresh SQLite file always, and a fresh PostgreSQL
//! schema when `WASESS_TEST_DATABASE_URL` is set (CI sets it). Without it the PostgreSQL half
//! is skipped with a printed notice, never silently; with `WASESS_REQUIRE_PG=1` (CI sets it
//! too) a missing database fails the run instead.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Once};

use sqlx::Connection as _;
use tempfile::TempDir;
use wasess::registry::{Registry, Settings};
use wasess::time::{Clock, ManualClock, Timestamp};

pub const ENV_URL: &str = "WASESS_TEST_DATABASE_URL";
/// Set to 1 where PostgreSQL must be there: a missing one is a failure, not a skip.
pub const ENV_REQUIRE: &str = "WASESS_REQUIRE_PG";

/// 2026-01-01T00:00:00Z: tests start their clocks here.
pub const START: Timestamp = Timestamp(1_767_225_600_000);

/// One fresh, empty registry database.
pub struct TestDb {
    pub name: &'static str,
    pub url: String,
    /// For PostgreSQL, the schema to drop afterwards.
    schema: Option<(String, String)>,
    _dir: Option<TempDir>,
}

impl TestDb {
    pub async fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite:{}", dir.path().join("registry.db").display());
        TestDb {
            name: "sqlite",
            url,
            schema: None,
            _dir: Some(dir),
        }
    }

    /// A new schema in the PostgreSQL database named by the environment, or `None`.
    pub async fn postgres() -> Option<TestDb> {
        let Ok(base) = std::env::var(ENV_URL) else {
            if std::env::var(ENV_REQUIRE).is_ok_and(|value| value == "1") {
                panic!("{ENV_REQUIRE}=1 but {ENV_URL} is not set: PostgreSQL tests cannot run");
            }
            static NOTICE: Once = Once::new();
            NOTICE.call_once(|| {
                eprintln!("notice: {ENV_URL} is not set: PostgreSQL registry tests are skipped")
            });
            return None;
        };
        static SEQUENCE: AtomicU32 = AtomicU32::new(0);
        let schema = format!(
            "wasess_test_{}_{}",
            std::process::id(),
            SEQUENCE.fetch_add(1, Ordering::SeqCst)
        );
        let mut admin = sqlx::PgConnection::connect(&base)
            .await
            .unwrap_or_else(|e| panic!("{ENV_URL}={base}: {e}"));
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
        )))
        .execute(&mut admin)
        .await
        .expect("create test schema");
        let separator = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{separator}options[search_path]={schema}");
        Some(TestDb {
            name: "postgres",
            url,
            schema: Some((base, schema)),
            _dir: None,
        })
    }

    /// SQLite always, PostgreSQL when configured.
    pub async fn all() -> Vec<TestDb> {
        let mut found = vec![TestDb::sqlite().await];
        found.extend(TestDb::postgres().await);
        found
    }

    pub async fn open(&self, node: &str, clock: Arc<ManualClock>) -> Registry {
        self.open_with(node, clock, Settings::default()).await
    }

    pub async fn open_with(
        &self,
        node: &str,
        clock: Arc<ManualClock>,
        settings: Settings,
    ) -> Registry {
        let clock: Arc<dyn Clock> = clock;
        Registry::open_with(&self.url, node, clock, settings)
            .await
            .unwrap_or_else(|e| panic!("open {}: {e}", self.name))
    }

    /// Runs raw SQL against the database, as an operator with a SQL shell (or a legacy import)
    /// would, bypassing the registry.
    pub async fn raw(&self, sql: &str) -> Result<(), sqlx::Error> {
        if self.schema.is_some() {
            let mut conn = sqlx::PgConnection::connect(&self.url).await?;
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
                .execute(&mut conn)
                .await?;
        } else {
            let mut conn = sqlx::SqliteConnection::connect(&self.url).await?;
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "PRAGMA foreign_keys = ON; {sql}"
            )))
            .execute(&mut conn)
            .await?;
        }
        Ok(())
    }

    /// Ids of the committed events above `after`, in id order, read straight from the table.
    pub async fn event_ids(&self, after: i64) -> Vec<i64> {
        let sql = "SELECT id FROM events WHERE id > $1 ORDER BY id";
        let found = if self.schema.is_some() {
            let mut conn = sqlx::PgConnection::connect(&self.url)
                .await
                .expect("connect");
            sqlx::query_scalar(sql)
                .bind(after)
                .fetch_all(&mut conn)
                .await
        } else {
            let mut conn = sqlx::SqliteConnection::connect(&self.url)
                .await
                .expect("connect");
            sqlx::query_scalar(sql)
                .bind(after)
                .fetch_all(&mut conn)
                .await
        };
        found.expect("read event ids")
    }

    /// Drops the PostgreSQL schema; SQLite files go with their temp dir.
    pub async fn finish(self) {
        if let Some((base, schema)) = &self.schema {
            if let Ok(mut admin) = sqlx::PgConnection::connect(base).await {
                let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                    "DROP SCHEMA IF EXISTS {schema} CASCADE"
                )))
                .execute(&mut admin)
                .await;
            }
        }
    }
}

pub fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(START))
}

/// A single-threaded runtime for a test's async steps.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}
