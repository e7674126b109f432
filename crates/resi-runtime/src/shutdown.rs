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
}
