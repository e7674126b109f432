//! Group commit: many requests' small writes, one statement per group.
//!
//! Every signed request writes a replay record, and on PostgreSQL counts
//! itself in the shared rate-limit table (both in one statement,
//! `Store::admit`), before it is answered. One
//! statement per request made the database's round trips (and SQLite's one
//! connection) the coordinator's limit. Requests queue their item instead;
//! one writer at a time takes what is queued (up to a group's size), writes
//! it with one statement, answers each request, and stops when the queue is
//! empty. Alone, a request waits for exactly its own write; under load,
//! items that arrive during a write share the next one (on PostgreSQL, more
//! writers at once made smaller groups and fewer requests per second).
//! Nothing is answered before its write returned.

use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::oneshot;

type Answer<R> = oneshot::Sender<Result<R, GroupFailure>>;

/// Why a group was not written, shared by every request in it: what went
/// wrong, and whether it was the database being unreachable (the request
/// may be tried again) rather than the write itself failing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupFailure {
    pub message: String,
    pub unavailable: bool,
}

impl std::fmt::Display for GroupFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl GroupFailure {
    fn stopped() -> Self {
        Self {
            message: "the writer stopped before answering".into(),
            unavailable: true,
        }
    }
}

/// Items waiting for their group's write, and whether a writer is at work.
pub(crate) struct GroupQueue<T, R> {
    state: Mutex<QueueState<T, R>>,
    max_group: usize,
}

struct QueueState<T, R> {
    pending: Vec<(T, Answer<R>)>,
    writing: bool,
}

impl<T, R> std::fmt::Debug for GroupQueue<T, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupQueue")
            .field("max_group", &self.max_group)
            .finish()
    }
}

impl<T: Send + 'static, R: Send + 'static> GroupQueue<T, R> {
    pub(crate) fn new(max_group: usize) -> Self {
        Self {
            state: Mutex::new(QueueState {
                pending: Vec::new(),
                writing: false,
            }),
            max_group: max_group.max(1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, QueueState<T, R>> {
        // The state is a queue and a flag, valid after any panic.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues `item` and waits for its answer. `write` writes one group and
    /// returns one answer per item, in order; it runs on its own task, so a
    /// request dropped mid-write (its client went away) abandons no one's item.
    pub(crate) async fn submit<W, Fut>(self: &Arc<Self>, item: T, write: W) -> Result<R, GroupFailure>
    where
        W: Fn(Vec<T>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Vec<R>, GroupFailure>> + Send,
    {
        let (answer, answered) = oneshot::channel();
        let start_writer = {
            let mut state = self.lock();
            state.pending.push((item, answer));
            !std::mem::replace(&mut state.writing, true)
        };
        if start_writer {
            let queue = Arc::clone(self);
            tokio::spawn(async move { queue.drain(write).await });
        }
        answered.await.unwrap_or_else(|_| Err(GroupFailure::stopped()))
    }

    /// The writer: writes what is queued, group by group, until nothing is.
    async fn drain<W, Fut>(&self, write: W)
    where
        W: Fn(Vec<T>) -> Fut,
        Fut: Future<Output = Result<Vec<R>, GroupFailure>>,
    {
        let mut running = WriterRunning {
            queue: self,
            drained: false,
        };
        loop {
            let (items, answers): (Vec<T>, Vec<Answer<R>>) = {
                let mut state = self.lock();
                if state.pending.is_empty() {
                    // Under the lock: an item queued after this starts a new writer.
                    state.writing = false;
                    running.drained = true;
                    return;
                }
                let take = state.pending.len().min(self.max_group);
                state.pending.drain(..take).unzip()
            };
            let expected = items.len();
            match write(items).await {
                Ok(results) if results.len() == expected => {
                    for (answer, result) in answers.into_iter().zip(results) {
                        let _ = answer.send(Ok(result));
                    }
                }
                Ok(results) => {
                    let failure = GroupFailure {
                        message: format!("the write answered {} of {expected} items", results.len()),
                        unavailable: false,
                    };
                    for answer in answers {
                        let _ = answer.send(Err(failure.clone()));
                    }
                }
                Err(failure) => {
                    for answer in answers {
                        let _ = answer.send(Err(failure.clone()));
                    }
                }
            }
        }
    }
}

/// Marks the writer stopped when it ends otherwise than by draining the
/// queue (a panic, or its runtime shutting down): the items still queued
/// are answered with an error instead of waiting for ever, and the next
/// submission starts another writer.
struct WriterRunning<'q, T, R> {
    queue: &'q GroupQueue<T, R>,
    drained: bool,
}

impl<T, R> Drop for WriterRunning<'_, T, R> {
    fn drop(&mut self) {
        if self.drained {
            return;
        }
        let mut state = self.queue.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.writing = false;
        for (_, answer) in state.pending.drain(..) {
            let _ = answer.send(Err(GroupFailure::stopped()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_item_is_answered_with_its_own_result_in_groups() {
        let queue = Arc::new(GroupQueue::<u32, u32>::new(8));
        let groups = Arc::new(Mutex::new(Vec::new()));
        let asks: Vec<_> = (0..200u32)
            .map(|i| {
                let (queue, groups) = (Arc::clone(&queue), Arc::clone(&groups));
                tokio::spawn(async move {
                    queue
                        .submit(i, move |items: Vec<u32>| {
                            let groups = Arc::clone(&groups);
                            async move {
                                groups.lock().unwrap().push(items.len());
                                tokio::task::yield_now().await;
                                Ok(items.iter().map(|i| i * 2).collect())
                            }
                        })
                        .await
                })
            })
            .collect();
        for (i, ask) in asks.into_iter().enumerate() {
            assert_eq!(ask.await.unwrap(), Ok(i as u32 * 2));
        }
        let groups = groups.lock().unwrap();
        assert_eq!(groups.iter().sum::<usize>(), 200);
        assert!(groups.iter().all(|n| (1..=8).contains(n)), "{groups:?}");
    }

    #[tokio::test]
    async fn a_failed_write_fails_its_group_and_the_queue_goes_on() {
        let queue = Arc::new(GroupQueue::<u32, u32>::new(4));
        let failure = |message: &str, unavailable| GroupFailure {
            message: message.into(),
            unavailable,
        };
        let disk_full = failure("disk full", false);
        let fail = move |_: Vec<u32>| {
            let failed = disk_full.clone();
            async move { Err::<Vec<u32>, _>(failed) }
        };
        assert_eq!(queue.submit(1, fail).await, Err(failure("disk full", false)));
        let short = |_: Vec<u32>| async { Ok::<Vec<u32>, GroupFailure>(Vec::new()) };
        assert_eq!(
            queue.submit(2, short).await,
            Err(failure("the write answered 0 of 1 items", false))
        );
        let ok = |items: Vec<u32>| async move { Ok::<_, GroupFailure>(items) };
        assert_eq!(queue.submit(3, ok).await, Ok(3));
    }
}
