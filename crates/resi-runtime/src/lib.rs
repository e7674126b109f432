//! resi-runtime: what every resi daemon (coordinator, miner, validator)
//! shares and nothing else.
//!
//! - [`Clock`]: the one way to ask for the time. Daemons take it as a
//!   dependency, so tests and the devnet can move it.
//! - [`Shutdown`]: a stop request the daemons check between journaled steps,
//!   so a stop finishes the step in hand instead of aborting it.
//! - [`daemon_span`]: one tracing span per daemon carrying its role and hotkey.
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
