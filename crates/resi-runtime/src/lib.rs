//! resi-runtime: what every resi daemon (coordinator, miner, validator)
//! shares and nothing else.
//!
//! - [`Clock`]: the one way to ask for the time. Daemons take it as a
//!   dependency, so tests and the devnet can move it.
//! - [`Shutdown`]: a stop request the daemons check between journaled steps,
//!   so a stop finishes the step in hand instead of aborting it.
//! - [`daemon_span`]: one tracing span per daemon carrying its role and hotkey.
//! - [`waiting`]: a wait for a dependency that is down is announced
//!   within two seconds, then periodically, never silent.
//! - [`error_report`]: an error and its causes on one line, each once.
//! - [`config`]: reading a daemon's TOML file and the `RESI_*` environment
//!   layer, with errors that name the file, the variable and the key.
//!
//! Architecture invariant: no protocol rules and no knowledge of any one
//! daemon; the only clock read in the daemons is [`SystemClock`].

// Nothing from outside the process may panic it: errors are returned.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod clock;
pub mod config;
pub mod shutdown;
pub mod waiting;

pub use clock::{Clock, ManualClock, SharedClock, SystemClock};
pub use config::ConfigError;
pub use shutdown::Shutdown;

/// `impl From<Cause> for Error` into variants whose message already prints
/// the cause: unlike thiserror's `#[from]`, the cause is not also the
/// error's `source`, so a report that walks the chain prints it once.
///
/// `resi_runtime::from_cause!(MyError { io::Error => Io, Other => Other });`
#[macro_export]
macro_rules! from_cause {
    ($error:ty { $($cause:ty => $variant:ident),+ $(,)? }) => {
        $(
            impl From<$cause> for $error {
                fn from(e: $cause) -> Self {
                    Self::$variant(e)
                }
            }
        )+
    };
}

/// An error and its causes on one line, each said once: `a: b: c`, where a
/// cause whose text its error already printed (thiserror's `{0}` with
/// `#[from]`, or a library that repeats its cause) is left out.
pub fn error_report(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = err.to_string();
    let mut next = err.source();
    while let Some(cause) = next {
        let text = cause.to_string();
        if !text.is_empty() && !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        next = cause.source();
    }
    out
}

/// What a daemon takes from its runtime: the clock and its stop request.
#[derive(Clone)]
pub struct Context {
    pub clock: SharedClock,
    pub shutdown: Shutdown,
}

impl Context {
    /// The system clock and a fresh shutdown handle.
    pub fn system() -> Self {
        Self {
            clock: SystemClock::shared(),
            shutdown: Shutdown::new(),
        }
    }
}

/// The span every line a daemon logs is inside: its role and, once known, its hotkey.
/// At the error level, so that it is on whatever level the logs are filtered to.
pub fn daemon_span(role: &'static str, hotkey: &str) -> tracing::Span {
    tracing::error_span!("daemon", role, hotkey = %hotkey)
}

/// The span of one epoch's work inside a daemon (on at every level, as
/// [`daemon_span`]).
pub fn epoch_span(epoch: &impl std::fmt::Display) -> tracing::Span {
    tracing::error_span!("epoch", epoch = %epoch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    enum Outer {
        /// Prints its cause and also reports it as its source.
        #[error("reading coordinator.toml: {0}")]
        Read(#[from] std::io::Error),
        #[error("starting the coordinator")]
        Start(#[source] std::io::Error),
    }

    #[test]
    fn each_cause_is_said_once() {
        let not_found = || std::io::Error::new(std::io::ErrorKind::NotFound, "No such file or directory (os error 2)");
        assert_eq!(
            error_report(&Outer::Read(not_found())),
            "reading coordinator.toml: No such file or directory (os error 2)"
        );
        assert_eq!(
            error_report(&Outer::Start(not_found())),
            "starting the coordinator: No such file or directory (os error 2)"
        );
        let wrapped = anyhow::Error::new(Outer::Read(not_found())).context("resi coordinator");
        assert_eq!(
            error_report(wrapped.as_ref()),
            "resi coordinator: reading coordinator.toml: No such file or directory (os error 2)"
        );
    }
}
