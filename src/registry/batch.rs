//! Requests of one kind that arrive while the registry writes a batch of them wait, and go
//! together as the next batch, in one writer turn. On SQLite every write takes its turn on
//! one connection, and each statement is a round trip to that connection's thread: a batch
//! pays for the turn, and for the statements that do not depend on the row, once instead of
//! once per request. Requests for the same user never share a batch, so each one sees the
//! one before it committed, as it would alone.

use std::collections::VecDeque;
use std::future::Future;
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

use super::Error;

/// The most requests one batch takes.
const MAX_BATCH: usize = 128;

/// A request of a batch and where its answer goes.
pub(crate) struct Pending<R, T> {
    pub request: R,
    pub answer: oneshot::Sender<T>,
}

/// A request that names the user it is about.
pub(crate) trait ForUser {
    fn user(&self) -> &str;
}

/// Answers each request of `batch` with its outcome from `write`, which writes the requests it
/// is given in one transaction and returns one outcome per request, in order. When the batch's
/// transaction fails, each request goes again on its own, so that an error reaches only the
/// request that caused it. Returns the requests whose caller went away, with their outcomes.
pub(crate) async fn answer<R, T, F, Fut>(
    batch: Vec<Pending<R, Result<T, Error>>>,
    write: F,
) -> Vec<(R, Result<T, Error>)>
where
    R: Clone,
    F: Fn(Vec<R>) -> Fut,
    Fut: Future<Output = Result<Vec<Result<T, Error>>, Error>>,
{
    let requests: Vec<R> = batch
        .iter()
        .map(|pending| pending.request.clone())
        .collect();
    let outcomes = match write(requests).await {
        Ok(outcomes) => outcomes,
        Err(error) if batch.len() == 1 => vec![Err(error)],
        Err(_) => {
            let mut outcomes = Vec::with_capacity(batch.len());
            for pending in &batch {
                outcomes.push(one(write(vec![pending.request.clone()]).await));
            }
            outcomes
        }
    };
    let mut unanswered = Vec::new();
    for (pending, outcome) in batch.into_iter().zip(outcomes) {
        if let Err(outcome) = pending.answer.send(outcome) {
            unanswered.push((pending.request, outcome));
        }
    }
    unanswered
}

/// The outcome of a batch of one.
pub(crate) fn one<T>(batch: Result<Vec<Result<T, Error>>, Error>) -> Result<T, Error> {
    batch?
        .pop()
        .unwrap_or_else(|| Err(Error::Internal("a batch of one gave no outcome".into())))
}

/// The queue of one kind of request, and whether a runner is working through it.
pub(crate) struct Batches<R, T> {
    queue: Mutex<Queue<R, T>>,
}

struct Queue<R, T> {
    waiting: VecDeque<Pending<R, T>>,
    running: bool,
}

impl<R, T> Default for Batches<R, T> {
    fn default() -> Self {
        Batches {
            queue: Mutex::new(Queue {
                waiting: VecDeque::new(),
                running: false,
            }),
        }
    }
}

impl<R: ForUser + Send + 'static, T: Send + 'static> Batches<R, T> {
    /// Queues `request` and waits for its answer; `None` when the runtime went away first.
    /// When no runner works through the queue, this call starts one on a task of its own
    /// with `run`, which answers every request of each batch it is given: a caller that gives
    /// up does not stop a batch midway.
    pub(crate) async fn submit<F, Fut>(self: &Arc<Self>, request: R, run: F) -> Option<T>
    where
        F: Fn(Vec<Pending<R, T>>) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send,
    {
        let (answer, answered) = oneshot::channel();
        let start = {
            let mut queue = self.lock();
            queue.waiting.push_back(Pending { request, answer });
            !std::mem::replace(&mut queue.running, true)
        };
        if start {
            let batches = self.clone();
            tokio::spawn(async move {
                let mut running = Running {
                    batches: &batches,
                    emptied: false,
                };
                loop {
                    let batch = batches.lock().next_batch();
                    if batch.is_empty() {
                        // The queue is another runner's from here on.
                        running.emptied = true;
                        return;
                    }
                    run(batch).await;
                }
            });
        }
        answered.await.ok()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Queue<R, T>> {
        self.queue
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl<R: ForUser, T> Queue<R, T> {
    /// Up to [`MAX_BATCH`] waiting requests in arrival order, at most one per user; the rest
    /// keep their places. An empty batch ends the runner, in the same critical section that
    /// saw the queue empty, so a request queued meanwhile starts a new one.
    fn next_batch(&mut self) -> Vec<Pending<R, T>> {
        let mut batch: Vec<Pending<R, T>> = Vec::new();
        let mut later = VecDeque::new();
        while let Some(pending) = self.waiting.pop_front() {
            let taken = batch.len() == MAX_BATCH
                || batch
                    .iter()
                    .any(|queued| queued.request.user() == pending.request.user());
            if taken {
                later.push_back(pending);
            } else {
                batch.push(pending);
            }
        }
        self.waiting = later;
        if batch.is_empty() {
            self.running = false;
        }
        batch
    }
}

/// Held by a runner: should its task end any other way than by finding the queue empty (a
/// panic, the runtime stopping), the queue is left to the next request, and the requests it
/// holds are told that no answer comes, instead of waiting for a runner that is gone.
struct Running<'a, R, T> {
    batches: &'a Batches<R, T>,
    /// The runner found the queue empty and gave it up: a new runner may hold it already.
    emptied: bool,
}

impl<R, T> Drop for Running<'_, R, T> {
    fn drop(&mut self) {
        if self.emptied {
            return;
        }
        let mut queue = self
            .batches
            .queue
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        queue.running = false;
        queue.waiting.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone)]
    struct Ask(&'static str, u32);

    impl ForUser for Ask {
        fn user(&self) -> &str {
            self.0
        }
    }

    /// Requests queued behind a running batch go together in the next one, except a second
    /// request for a user already in it, which waits for the batch after.
    #[tokio::test]
    async fn waiting_requests_go_together_one_per_user() {
        let batches: Arc<Batches<Ask, u32>> = Arc::default();
        let (release, released) = tokio::sync::watch::channel(false);
        let seen: Arc<Mutex<Vec<Vec<u32>>>> = Arc::default();
        let run = {
            let seen = seen.clone();
            move |batch: Vec<Pending<Ask, u32>>| {
                let (seen, mut released) = (seen.clone(), released.clone());
                async move {
                    let _ = released.wait_for(|released| *released).await;
                    seen.lock()
                        .unwrap()
                        .push(batch.iter().map(|p| p.request.1).collect());
                    for pending in batch {
                        let _ = pending.answer.send(pending.request.1 * 10);
                    }
                }
            }
        };
        let submit = |user: &'static str, n: u32| {
            let (batches, run) = (batches.clone(), run.clone());
            tokio::spawn(async move { batches.submit(Ask(user, n), run).await })
        };
        // The first request's batch is under way, and held, before the others queue.
        let mut calls = vec![submit("a", 1)];
        let first_taken = || {
            let queue = batches.lock();
            queue.running && queue.waiting.is_empty()
        };
        while !first_taken() {
            tokio::task::yield_now().await;
        }
        for (user, n) in [("b", 2), ("c", 3), ("b", 4), ("d", 5)] {
            calls.push(submit(user, n));
        }
        while batches.lock().waiting.len() < 4 {
            tokio::task::yield_now().await;
        }
        release.send_replace(true);
        let mut answers = Vec::new();
        for call in calls {
            answers.push(call.await.expect("caller"));
        }
        assert_eq!(answers, [Some(10), Some(20), Some(30), Some(40), Some(50)]);
        assert_eq!(*seen.lock().unwrap(), [vec![1], vec![2, 3, 5], vec![4]]);
    }

    /// A batch whose transaction fails goes again one request at a time: the error reaches
    /// only the request that caused it, and a request whose caller went away comes back.
    #[tokio::test]
    async fn a_failed_batch_fails_only_the_request_that_caused_it() {
        let mut batch = Vec::new();
        let mut answers = Vec::new();
        for (user, n) in [("a", 1), ("b", 2), ("c", 3), ("d", 4)] {
            let (answer, answered) = oneshot::channel();
            batch.push(Pending {
                request: Ask(user, n),
                answer,
            });
            answers.push(answered);
        }
        drop(answers.pop());
        let write = |asks: Vec<Ask>| async move {
            if asks.iter().any(|ask| ask.0 == "b") {
                return Err(Error::Internal(format!("{} writes in vain", asks.len())));
            }
            Ok(asks.iter().map(|ask| Ok(ask.1 * 10)).collect())
        };
        let unanswered = answer(batch, write).await;
        assert_eq!(
            unanswered
                .iter()
                .map(|(ask, outcome)| (ask.0, outcome.as_ref().ok().copied()))
                .collect::<Vec<_>>(),
            [("d", Some(40))]
        );
        let mut told = Vec::new();
        for answered in answers {
            told.push(match answered.await.expect("an answer") {
                Ok(n) => n.to_string(),
                Err(error) => error.to_string(),
            });
        }
        assert_eq!(told[0], "10");
        assert!(told[1].contains("1 writes in vain"), "{}", told[1]);
        assert_eq!(told[2], "30");
    }

    /// A runner that panics leaves the queue usable: its waiting requests hear that no
    /// answer comes, and the next request starts a new runner.
    #[tokio::test]
    async fn a_runner_that_panics_leaves_no_request_waiting_forever() {
        let batches: Arc<Batches<Ask, u32>> = Arc::default();
        let failing = |_: Vec<Pending<Ask, u32>>| async { panic!("the batch failed") };
        assert_eq!(batches.submit(Ask("a", 1), failing).await, None);
        let answering = |batch: Vec<Pending<Ask, u32>>| async move {
            for pending in batch {
                let _ = pending.answer.send(pending.request.1);
            }
        };
        assert_eq!(batches.submit(Ask("a", 2), answering).await, Some(2));
    }
}
