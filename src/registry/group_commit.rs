//! Group commit for SQLite. SQLite has one writer at a time, and a durable commit costs an
//! fsync, so writers that arrive together share one transaction and one fsync instead of
//! queueing for one each.
//!
//! Writers take turns on one connection, in arrival order. The first writer of a group opens
//! the transaction (`BEGIN IMMEDIATE`); each writer runs inside its own savepoint, so a writer
//! that fails (or is dropped) undoes only its own work. A writer that finished waits, its
//! savepoint left for the next writer to release in the same call that opens its own (or for
//! the commit): the committer task commits once the writers queued before it are done, then
//! tells every writer of the group. Only then does a writer's `commit` return, so
//! nothing is acknowledged before it is on disk, and a failed commit fails every writer of the
//! group. Readers use the pool and see a group's work once it committed, as one transaction.
//!
//! The shared transaction's state lives next to the connection (open, writers waiting, a
//! savepoint to roll back), so every step that changes both runs to its end on a task of its
//! own: a caller that is cancelled midway never leaves them disagreeing.
//!
//! A commit only appends to the write-ahead log and syncs it: copying the log back into the
//! database file (the checkpoint) is the checkpointer's job, on a connection of its own, so no
//! writer waits for it. SQLite's own automatic checkpoint runs inside the commit that fills
//! the log past 1,000 pages, and would have that group's writers, and every writer queued
//! behind them, wait for the copy and its fsync.

use std::sync::Arc;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::Connection as _;
use tokio::sync::{watch, Mutex, Notify, OwnedMutexGuard};
use tokio::task::JoinHandle;

use super::Error;

/// A group's outcome: `None` while it is open, then the commit's result.
type Outcome = Option<Result<(), String>>;

/// How long the checkpointer lets commits gather before it copies them into the database
/// file: a busy registry gets a checkpoint (and its fsync) per pause, not per commit.
const CHECKPOINT_PAUSE: Duration = Duration::from_millis(200);

/// The shared writer connection of one SQLite registry.
#[derive(Debug)]
pub(crate) struct GroupWriter {
    state: Arc<Mutex<Writer>>,
    /// Rung when a writer released its savepoint or dropped its work.
    ready: Arc<Notify>,
    checkpoints: Arc<Checkpoints>,
    checkpointer: std::sync::Mutex<Option<JoinHandle<()>>>,
}

/// What the committer and `close` tell the checkpointer.
#[derive(Debug)]
struct Checkpoints {
    /// Rung after each commit.
    committed: Notify,
    closed: watch::Sender<bool>,
}

#[derive(Debug)]
struct Writer {
    /// Taken only when the registry closes, after which no turn begins.
    conn: Option<SqliteConnection>,
    /// A group transaction is open.
    open: bool,
    /// Writers of the open group waiting for its commit.
    waiting: usize,
    /// A writer went away without committing: its savepoint is still to be rolled back.
    abandoned: bool,
    /// The last writer finished: its savepoint is still to be released.
    finished: bool,
    closed: bool,
    outcome: watch::Sender<Outcome>,
    checkpoints: Arc<Checkpoints>,
}

impl GroupWriter {
    /// Opens the writer connection on `options` and starts its committer and checkpointer.
    pub(crate) async fn open(options: &SqliteConnectOptions) -> Result<Arc<GroupWriter>, Error> {
        let options = options.clone().pragma("wal_autocheckpoint", "0");
        let conn = SqliteConnection::connect_with(&options).await?;
        let checkpointing = SqliteConnection::connect_with(&options).await?;
        let checkpoints = Arc::new(Checkpoints {
            committed: Notify::new(),
            closed: watch::channel(false).0,
        });
        let writer = Arc::new(GroupWriter {
            state: Arc::new(Mutex::new(Writer {
                conn: Some(conn),
                open: false,
                waiting: 0,
                abandoned: false,
                finished: false,
                closed: false,
                outcome: watch::channel(None).0,
                checkpoints: checkpoints.clone(),
            })),
            ready: Arc::new(Notify::new()),
            checkpointer: std::sync::Mutex::new(Some(tokio::spawn(checkpointer(
                checkpointing,
                checkpoints.clone(),
            )))),
            checkpoints,
        });
        tokio::spawn(committer(writer.state.clone(), writer.ready.clone()));
        Ok(writer)
    }

    /// Joins the open group (or opens one) once the writers ahead are done. The steps that
    /// change the shared transaction run on their own task, so a caller that gives up midway
    /// (a timeout, a closed client) cannot leave it half changed: what it started finishes,
    /// and a turn nobody takes is dropped and rolled back like any other.
    pub(crate) async fn begin(&self) -> Result<GroupTx, Error> {
        let (state, ready) = (self.state.clone(), self.ready.clone());
        tokio::spawn(async move {
            let mut writer = state.lock_owned().await;
            if writer.closed {
                return Err(Error::Internal("the registry is closed".into()));
            }
            writer.settle_abandoned().await;
            if !writer.open {
                sqlx::query("BEGIN IMMEDIATE")
                    .execute(writer.conn())
                    .await?;
                writer.open = true;
            }
            // One call releases the finished writer's savepoint and opens ours: its work
            // stays in the group whatever ours does.
            let savepoint = if std::mem::take(&mut writer.finished) {
                "RELEASE writer; SAVEPOINT writer"
            } else {
                "SAVEPOINT writer"
            };
            if let Err(error) = sqlx::raw_sql(savepoint).execute(writer.conn()).await {
                // Nothing of ours to undo; the committer closes a group left empty.
                ready.notify_one();
                return Err(error.into());
            }
            Ok(GroupTx {
                writer: Some(writer),
                ready,
            })
        })
        .await
        .map_err(|error| Error::Internal(format!("the writer's turn failed: {error}")))?
    }

    /// Commits what is pending and stops the committer and the checkpointer.
    pub(crate) async fn close(&self) {
        let mut writer = self.state.lock().await;
        writer.settle_abandoned().await;
        writer.commit_group().await;
        writer.closed = true;
        let conn = writer.conn.take();
        self.ready.notify_one();
        drop(writer);
        // Closed here, not dropped with the last task that holds the writer: a connection
        // left open at exit keeps the log beside the database file.
        if let Some(conn) = conn {
            let _ = conn.close().await;
        }
        self.checkpoints.closed.send_replace(true);
        let checkpointer = self
            .checkpointer
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
        if let Some(checkpointer) = checkpointer {
            let _ = checkpointer.await;
        }
    }
}

/// Copies committed pages from the log into the database file a while after commits, without
/// blocking writers or readers (`PASSIVE`: it stops at the oldest page a reader still needs,
/// and the next round goes on from there). Once the whole log is copied, the next writer
/// starts it over from the beginning, so the log holds about what is written between rounds.
async fn checkpointer(mut conn: SqliteConnection, checkpoints: Arc<Checkpoints>) {
    let mut closed = checkpoints.closed.subscribe();
    loop {
        tokio::select! {
            _ = checkpoints.committed.notified() => {}
            _ = closed.wait_for(|closed| *closed) => break,
        }
        tokio::select! {
            _ = tokio::time::sleep(CHECKPOINT_PAUSE) => {}
            _ = closed.wait_for(|closed| *closed) => break,
        }
        if let Err(error) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&mut conn)
            .await
        {
            tracing::warn!(%error, "checkpoint failed; the next commit retries it");
        }
    }
    // The last of the registry's connections to close copies whatever is left.
    let _ = conn.close().await;
}

/// Commits each group once the writers queued before the committer are done.
async fn committer(state: Arc<Mutex<Writer>>, ready: Arc<Notify>) {
    loop {
        ready.notified().await;
        let mut writer = state.lock().await;
        if writer.closed {
            return;
        }
        writer.settle_abandoned().await;
        writer.commit_group().await;
    }
}

impl Writer {
    fn conn(&mut self) -> &mut SqliteConnection {
        match self.conn.as_mut() {
            Some(conn) => conn,
            None => unreachable!("the writer's connection is taken only once it is closed"),
        }
    }

    /// Rolls back the savepoint of a writer that went away. When that fails, the transaction
    /// itself is gone (SQLite rolled it back), and with it the group: its writers are told.
    async fn settle_abandoned(&mut self) {
        if !std::mem::take(&mut self.abandoned) || !self.open {
            return;
        }
        // One call: the release runs only if the rollback did.
        let undone = sqlx::raw_sql("ROLLBACK TO writer; RELEASE writer")
            .execute(self.conn())
            .await
            .is_ok();
        if !undone {
            let _ = sqlx::query("ROLLBACK").execute(self.conn()).await;
            self.end_group(Err("the transaction was rolled back".into()));
        }
    }

    /// Commits the open group (or rolls back one nobody waits for) and tells its writers.
    async fn commit_group(&mut self) {
        if !self.open {
            return;
        }
        if self.waiting == 0 {
            let _ = sqlx::query("ROLLBACK").execute(self.conn()).await;
            self.end_group(Ok(()));
            return;
        }
        let result = sqlx::query("COMMIT")
            .execute(self.conn())
            .await
            .map(drop)
            .map_err(|error| error.to_string());
        match result {
            Ok(()) => self.checkpoints.committed.notify_one(),
            Err(_) => {
                let _ = sqlx::query("ROLLBACK").execute(self.conn()).await;
            }
        }
        self.end_group(result);
    }

    fn end_group(&mut self, result: Result<(), String>) {
        self.open = false;
        self.waiting = 0;
        self.finished = false;
        let ended = std::mem::replace(&mut self.outcome, watch::channel(None).0);
        ended.send_replace(Some(result));
    }
}

/// One writer's turn: its savepoint in the open group.
#[derive(Debug)]
pub(crate) struct GroupTx {
    writer: Option<OwnedMutexGuard<Writer>>,
    ready: Arc<Notify>,
}

impl GroupTx {
    pub(crate) fn conn(&mut self) -> &mut SqliteConnection {
        match self.writer.as_mut() {
            Some(writer) => writer.conn(),
            None => unreachable!("a writer's connection is taken only by commit"),
        }
    }

    /// Joins the writers waiting for the group's commit, then waits until it is on disk. Its
    /// savepoint stays until the next writer or the commit: nothing here awaits between
    /// marking it finished and counting it, so a cancelled caller cannot separate the two.
    pub(crate) async fn commit(mut self) -> Result<(), Error> {
        let Some(mut writer) = self.writer.take() else {
            return Ok(());
        };
        writer.finished = true;
        writer.waiting += 1;
        let mut outcome = writer.outcome.subscribe();
        drop(writer);
        self.ready.notify_one();
        let result = match outcome.wait_for(Option::is_some).await {
            Ok(result) => result.clone().unwrap_or(Ok(())),
            Err(_) => Err("the registry closed before the commit".into()),
        };
        result.map_err(|error| Error::Internal(format!("commit failed: {error}")))
    }
}

impl Drop for GroupTx {
    fn drop(&mut self) {
        if let Some(mut writer) = self.writer.take() {
            writer.abandoned = true;
            drop(writer);
            self.ready.notify_one();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::sqlite::SqliteJournalMode;

    async fn numbers(options: &SqliteConnectOptions) -> Vec<i64> {
        let mut conn = SqliteConnection::connect_with(options)
            .await
            .expect("reader");
        sqlx::query_scalar("SELECT n FROM t ORDER BY n")
            .fetch_all(&mut conn)
            .await
            .expect("read")
    }

    /// A writer on a new database in `dir` with an empty table `t`.
    async fn writer_with_table(dir: &std::path::Path) -> (SqliteConnectOptions, Arc<GroupWriter>) {
        let options = SqliteConnectOptions::new()
            .filename(dir.join("t.db"))
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal);
        let writer = GroupWriter::open(&options).await.expect("writer");
        let mut setup = writer.begin().await.expect("setup");
        sqlx::query("CREATE TABLE t (n INTEGER PRIMARY KEY)")
            .execute(setup.conn())
            .await
            .expect("table");
        setup.commit().await.expect("setup commit");
        (options, writer)
    }

    async fn insert(tx: &mut GroupTx, n: i64) {
        sqlx::query("INSERT INTO t (n) VALUES ($1)")
            .bind(n)
            .execute(tx.conn())
            .await
            .expect("insert");
    }

    /// A writer dropped after the one before it finished, in the same group: only the dropped
    /// writer's work goes, and the group commits the rest.
    #[tokio::test]
    async fn a_dropped_writer_undoes_only_its_own_work_in_a_shared_group() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (options, writer) = writer_with_table(dir.path()).await;

        let mut first = writer.begin().await.expect("first");
        insert(&mut first, 1).await;
        // Queued behind the first writer, ahead of the committer: the same group.
        let second = tokio::spawn({
            let writer = writer.clone();
            async move {
                let mut second = writer.begin().await.expect("second");
                insert(&mut second, 2).await;
                drop(second);
            }
        });
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let first_committed = tokio::spawn(first.commit());
        second.await.expect("second writer");
        let mut third = writer.begin().await.expect("third");
        insert(&mut third, 3).await;
        third.commit().await.expect("third commit");
        first_committed
            .await
            .expect("first writer")
            .expect("first commit");

        assert_eq!(numbers(&options).await, [1, 3]);
        writer.close().await;
    }

    /// Committed pages reach the database file itself while the registry stays open: a copy
    /// of that file alone, without its log, holds them.
    #[tokio::test]
    async fn the_checkpointer_copies_commits_into_the_database_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (_, writer) = writer_with_table(dir.path()).await;
        let mut tx = writer.begin().await.expect("writer");
        insert(&mut tx, 7).await;
        tx.commit().await.expect("commit");

        let copy = dir.path().join("copy.db");
        let copy_options = SqliteConnectOptions::new().filename(&copy);
        let mut copied: Vec<i64> = Vec::new();
        for _ in 0..100 {
            std::fs::copy(dir.path().join("t.db"), &copy).expect("copy the file");
            let mut conn = SqliteConnection::connect_with(&copy_options)
                .await
                .expect("open the copy");
            copied = sqlx::query_scalar("SELECT n FROM t")
                .fetch_all(&mut conn)
                .await
                .unwrap_or_default();
            conn.close().await.expect("close the copy");
            if !copied.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(copied, [7], "the commit is in the database file");
        writer.close().await;
    }
}
