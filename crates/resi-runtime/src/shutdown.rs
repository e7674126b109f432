//! A stop request shared by a daemon's tasks (mini-redis's shutdown handle):
//! the signal handler triggers it, loops check it between steps and wait on
//! it instead of sleeping.

use std::future::Future;
use std::time::Duration;

use tokio::sync::watch;

/// Cloneable; every clone sees the same stop request.
#[derive(Clone, Debug)]
pub struct Shutdown {
    sender: std::sync::Arc<watch::Sender<bool>>,
    receiver: watch::Receiver<bool>,
}

impl Default for Shutdown {
    fn default() -> Self {
        Self::new()
    }
}

impl Shutdown {
    pub fn new() -> Self {
        let (sender, receiver) = watch::channel(false);
        Self {
            sender: std::sync::Arc::new(sender),
            receiver,
        }
    }

    /// Asks every holder to stop after the step in hand.
    pub fn trigger(&self) {
        self.sender.send_replace(true);
    }

    pub fn is_triggered(&self) -> bool {
        *self.receiver.borrow()
    }

    /// Resolves once a stop is requested (at once if it already was).
    pub async fn wait(&self) {
        let mut receiver = self.receiver.clone();
        // The sender lives in `self`, so `wait_for` cannot fail while we wait.
        let _ = receiver.wait_for(|stop| *stop).await;
    }

    /// Sleeps for `duration` or until a stop is requested; `true` when woken by the stop.
    pub async fn sleep(&self, duration: Duration) -> bool {
        tokio::select! {
            _ = self.wait() => true,
            _ = tokio::time::sleep(duration) => self.is_triggered(),
        }
    }

    /// Runs `work` to completion, unless a stop is requested: then `work`
    /// has `grace` to finish the step in hand (it sees the stop and ends at
    /// its next step boundary) before it is dropped. Dropping is safe for
    /// work that journals its steps; the grace keeps a stop from cutting a
    /// step that is about to finish. `None` when it was dropped.
    pub async fn finish_within<F: Future>(&self, grace: Duration, work: F) -> Option<F::Output> {
        let deadline = async {
            self.wait().await;
            tokio::time::sleep(grace).await;
        };
        tokio::select! {
            done = work => Some(done),
            _ = deadline => None,
        }
    }

    /// Triggers this handle when `signal` resolves (e.g. Ctrl-C), from a background task.
    pub fn trigger_on<F>(&self, signal: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let me = self.clone();
        tokio::spawn(async move {
            signal.await;
            me.trigger();
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_clone_sees_the_stop_and_sleep_wakes_early() {
        let shutdown = Shutdown::new();
        let other = shutdown.clone();
        assert!(!other.is_triggered());
        let sleeper = tokio::spawn({
            let s = shutdown.clone();
            async move { s.sleep(Duration::from_secs(3600)).await }
        });
        tokio::task::yield_now().await;
        shutdown.trigger();
        assert!(sleeper.await.unwrap(), "a stop wakes a sleeping loop");
        assert!(other.is_triggered());
        other.wait().await;
        assert!(!Shutdown::new().sleep(Duration::from_millis(1)).await);
    }

    #[tokio::test]
    async fn work_gets_its_grace_then_is_dropped() {
        let shutdown = Shutdown::new();
        let quick = shutdown.finish_within(Duration::from_millis(10), async { 7 });
        assert_eq!(quick.await, Some(7));
        shutdown.trigger();
        let finishes_in_grace = shutdown.finish_within(Duration::from_secs(5), async {
            tokio::time::sleep(Duration::from_millis(20)).await;
            8
        });
        assert_eq!(finishes_in_grace.await, Some(8));
        let hangs = shutdown.finish_within(Duration::from_millis(20), std::future::pending::<()>());
        assert_eq!(hangs.await, None);
    }
}
