//! Writes nobody reads back at once (the usage log), taken off the answer path. The `sql`
//! import's `defer` puts one call's statements on a bounded queue and returns; one writer
//! task commits what has queued up within a short window in a single transaction (group
//! commit), through the same `Sql` backend as every other call, SQLite or PostgreSQL.
//!
//! Nothing queued is dropped silently: a full queue makes `defer` wait (backpressure); a
//! transaction the database reports `unavailable` is tried again a few times; a failed
//! transaction is run again call by call, so one bad call costs no other call its rows;
//! what still fails is logged (the statements' first words and the error, never the
//! values) and counted. `close` runs everything queued before a clean shutdown ends.
//! Like the rest of `sql`, this module never interprets a statement.

use super::{Sql, SqlError, Statement};
use crate::metrics::SqlDeferredCounts;
use std::ops::Range;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// The waits before trying again a transaction the database refused as `unavailable`
/// (a restart, a full pool): about three seconds in all, then the rows are given up on.
const UNAVAILABLE_WAITS: [Duration; 3] = [
    Duration::from_millis(100),
    Duration::from_millis(500),
    Duration::from_secs(2),
];

/// Statements per transaction at most: bounds how long one commit holds the database.
const MAX_STATEMENTS: usize = 512;

/// `defer` calls the queue holds before callers wait. A guest instance defers once per
/// answer, so this is many windows' worth at any realistic rate.
const QUEUE_CALLS: usize = 4096;

/// How the writer groups queued statements into transactions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grouping {
    /// How long the first call of a transaction waits for others to join it.
    pub window: Duration,
    /// A transaction starts as soon as it has this many statements, window or not.
    pub max_statements: usize,
    /// Calls queued (beyond the transaction being gathered) before `defer` waits.
    pub queue_calls: usize,
}

impl Grouping {
    /// The production sizes with the configured window (`ORPIPE_SQL_DEFER_MS`).
    pub fn with_window(window: Duration) -> Self {
        Self {
            window,
            max_statements: MAX_STATEMENTS,
            queue_calls: QUEUE_CALLS,
        }
    }
}

/// The statements of one `defer` call: they apply together or not at all.
type Call = Vec<Statement>;

/// The queue's sending side and the writer task behind it.
pub struct DeferredWriter {
    queue: mpsc::Sender<Call>,
    closing: watch::Sender<bool>,
    task: Mutex<Option<JoinHandle<()>>>,
    summary: String,
}

impl DeferredWriter {
    /// Starts the writer task on the current tokio runtime.
    pub fn start(db: Arc<dyn Sql>, grouping: Grouping, counts: SqlDeferredCounts) -> Self {
        let (queue, calls) = mpsc::channel(grouping.queue_calls.max(1));
        let (closing, closed) = watch::channel(false);
        let summary = format!(
            "deferred writes: window {} ms, up to {} statements per transaction",
            grouping.window.as_millis(),
            grouping.max_statements
        );
        let writer = Writer {
            db,
            grouping,
            counts,
        };
        let task = tokio::spawn(writer.run(calls, closed));
        Self {
            queue,
            closing,
            task: Mutex::new(Some(task)),
            summary,
        }
    }

    /// One line for the start-up log.
    pub fn summary(&self) -> &str {
        &self.summary
    }

    /// Queues one call's statements; waits while the queue is full. `unavailable` once
    /// `close` has begun.
    pub async fn defer(&self, statements: Vec<Statement>) -> Result<(), SqlError> {
        if statements.is_empty() {
            return Ok(());
        }
        self.queue.send(statements).await.map_err(|_| {
            SqlError::Unavailable("orpipe is shutting down: no more deferred writes".into())
        })
    }

    /// Stops taking calls, runs everything queued at once (not waiting out the window),
    /// and returns when that is done, or at `deadline`: whatever is not written by then
    /// is lost, and the log says so.
    pub async fn close(&self, deadline: Instant) {
        self.closing.send_replace(true);
        let task = self
            .task
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
        let Some(task) = task else { return };
        match tokio::time::timeout_at(deadline, task).await {
            Ok(Ok(())) => tracing::info!("deferred SQL writes flushed"),
            Ok(Err(error)) => tracing::error!(%error, "the deferred SQL writer failed"),
            Err(_) => tracing::warn!(
                queued_calls = self
                    .queue
                    .max_capacity()
                    .saturating_sub(self.queue.capacity()),
                "shutdown grace over: deferred SQL writes still queued are lost"
            ),
        }
    }
}

/// The writer task: takes calls off the queue and commits them in groups.
struct Writer {
    db: Arc<dyn Sql>,
    grouping: Grouping,
    counts: SqlDeferredCounts,
}

/// Queued calls laid end to end, as one transaction runs them.
#[derive(Default)]
struct Group {
    statements: Vec<Statement>,
    calls: Vec<Range<usize>>,
}

impl Group {
    fn push(&mut self, call: Call) {
        let start = self.statements.len();
        self.statements.extend(call);
        self.calls.push(start..self.statements.len());
    }

    fn calls(&self) -> impl Iterator<Item = &[Statement]> {
        self.calls
            .iter()
            .map(|range| self.statements.get(range.clone()).unwrap_or_default())
    }
}

/// What the queue gave while a group was gathered.
enum Next {
    Call(Option<Call>),
    WindowOver,
    Closing,
}

impl Writer {
    async fn run(self, mut queue: mpsc::Receiver<Call>, mut closing: watch::Receiver<bool>) {
        let mut open = true;
        loop {
            let mut group = Group::default();
            let Some(first) = next_call(&mut queue, &mut closing, &mut open, None).await else {
                // Closed and drained.
                return;
            };
            group.push(first);
            let window_over = Instant::now() + self.grouping.window;
            while group.statements.len() < self.grouping.max_statements {
                match next_call(&mut queue, &mut closing, &mut open, Some(window_over)).await {
                    Some(call) => group.push(call),
                    None => break,
                }
            }
            self.commit(group).await;
        }
    }

    async fn commit(&self, group: Group) {
        let Err(error) = self.run_retrying(&group.statements).await else {
            self.written(&group.statements);
            return;
        };
        // Unavailable even after the retries: running the calls one by one would only
        // wait out the same retries for each.
        if group.calls.len() == 1 || matches!(error, SqlError::Unavailable(_)) {
            for call in group.calls() {
                self.give_up(call, &error);
            }
            return;
        }
        let mut calls = group.calls();
        while let Some(call) = calls.next() {
            match self.run_retrying(call).await {
                Ok(()) => self.written(call),
                Err(error @ SqlError::Unavailable(_)) => {
                    self.give_up(call, &error);
                    for rest in calls.by_ref() {
                        self.give_up(rest, &error);
                    }
                }
                Err(error) => self.give_up(call, &error),
            }
        }
    }

    /// The statements in one transaction, tried again while the database is unavailable.
    async fn run_retrying(&self, statements: &[Statement]) -> Result<(), SqlError> {
        let mut waits = UNAVAILABLE_WAITS.iter();
        loop {
            match self.db.batch(statements.to_vec()).await {
                Ok(_) => return Ok(()),
                Err(SqlError::Unavailable(reason)) => {
                    let Some(wait) = waits.next() else {
                        return Err(SqlError::Unavailable(reason));
                    };
                    tracing::debug!(%reason, wait_ms = wait.as_millis() as u64, "deferred SQL: the database is unavailable, trying again");
                    tokio::time::sleep(*wait).await;
                }
                Err(other) => return Err(other),
            }
        }
    }

    fn written(&self, statements: &[Statement]) {
        self.counts.written.inc_by(statements.len() as u64);
    }

    fn give_up(&self, call: &[Statement], error: &SqlError) {
        self.counts.failed.inc_by(call.len() as u64);
        let statements: Vec<String> = call.iter().map(|s| first_words(&s.sql)).collect();
        tracing::warn!(
            statements = statements.join("; "),
            error = ?error,
            "deferred SQL write failed: these rows are lost"
        );
    }
}

/// The next queued call. While open, waits for one until `until` (`None`: for as long
/// as it takes). Once closing, waits no longer than the queue is empty: `None` then.
async fn next_call(
    queue: &mut mpsc::Receiver<Call>,
    closing: &mut watch::Receiver<bool>,
    open: &mut bool,
    until: Option<Instant>,
) -> Option<Call> {
    loop {
        if !*open {
            return match until {
                Some(_) => queue.try_recv().ok(),
                None => queue.recv().await,
            };
        }
        let next = tokio::select! {
            call = queue.recv() => Next::Call(call),
            () = sleep_until(until) => Next::WindowOver,
            // A dropped writer closes the queue too.
            _ = closing.changed() => Next::Closing,
        };
        match next {
            Next::Call(call) => return call,
            Next::WindowOver => return None,
            Next::Closing => {
                // What is queued stays to be received; further sends fail.
                queue.close();
                *open = false;
            }
        }
    }
}

async fn sleep_until(until: Option<Instant>) {
    match until {
        Some(instant) => tokio::time::sleep_until(instant).await,
        None => std::future::pending().await,
    }
}

/// The start of a statement for the log (`INSERT INTO orpipe_usage`): enough to tell
/// which write failed; the values are parameters, so none appears here.
fn first_words(sql: &str) -> String {
    sql.split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(80)
        .collect()
}
